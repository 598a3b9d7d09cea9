/**
 * Custom search attributes Throughline sets on journey workflows, so that "every journey of user X"
 * is one visibility query. The embedded dev server registers them with flags at start;
 * `registerSearchAttributes` does it on any other Temporal (the CLI's `setup` command calls it).
 */
import type { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';

export const USER_ID = defineSearchAttributeKey('ThroughlineUserId', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [{ name: USER_ID.name, kind: 'Keyword' }] as const;

export async function registerSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<void> {
  const searchAttributes = Object.fromEntries(
    SEARCH_ATTRIBUTES.map((a) => [a.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
  );
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (err) {
    // Registering twice is fine: the attribute is there, which is all we need.
    if (!/already exists/i.test((err as Error).message)) throw err;
  }
}
