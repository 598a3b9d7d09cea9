/**
 * What every journey instance did, step by step, for the funnels and experiment reports: one
 * insert-only document per step record (and per entry and end), keyed by instance and sequence, so a
 * retried write is the same write. `insertedAt` is the writer's clock at the write: the rollup reads
 * records in that order (reports/rollup.ts), because a record's own `at` (workflow time) may be long
 * past when a write retried through an outage finally lands.
 */
import type { Collection } from 'mongodb';
import type { ProgressRecord } from '../workflows/sdk/types.js';
import { insertNew } from './db.js';

export interface ProgressDoc extends Omit<ProgressRecord, 'at'> {
  _id: string;
  at: Date;
  insertedAt: Date;
}

export async function insertProgress(progress: Collection<ProgressDoc>, records: ProgressRecord[]): Promise<void> {
  if (records.length === 0) return;
  const insertedAt = new Date();
  await insertNew(
    progress,
    records.map((r) => ({ ...r, _id: `${r.workflowId}/${r.runId}/${r.seq}`, at: new Date(r.at), insertedAt })),
  );
}
