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
  const searchAttributes = Object.fromEntries(
    SEARCH_ATTRIBUTES.map((a) => [a.name, INDEXED_TYPES[a.kind]]),
  );
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (err) {
    // Registering twice is fine: the attribute is there, which is all we need.
    if (!/already exists/i.test((err as Error).message)) throw err;
  }
}
