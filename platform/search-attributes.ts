/**
 * Registers the search attributes journey workflows carry (workflows/sdk/search-attributes.ts). The
 * embedded dev server gets them as flags at start; on any other Temporal the CLI's `setup` command
 * calls this once.
 */
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../workflows/sdk/search-attributes.js';

const INDEXED_TYPES = {
  Keyword: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

export async function registerSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<void> {
  // One at a time: a call naming one that exists fails whole, and an upgrade adds new ones beside old.
  for (const attribute of SEARCH_ATTRIBUTES) {
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [attribute.name]: INDEXED_TYPES[attribute.kind] } });
    } catch (err) {
      // Registering twice is fine: the attribute is there, which is all we need.
      if (!/already exists/i.test((err as Error).message)) throw err;
    }
  }
}
