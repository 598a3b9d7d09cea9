/**
 * A new segment version's backfill: every profile that existed before it is evaluated once, in id
 * order, from where the last attempt got to (saved after every page), while ingestion goes on
 * computing it from new events. Both may evaluate the same customer at once: the engine settles it
 * (segments/engine.ts), so the backfill never holds ingestion up.
 */
import pMap from 'p-map';
import type { Database } from '../store/db.js';
import { backfillOf, saveBackfill } from '../store/segment-backfills.js';
import type { SegmentEngine } from './engine.js';
import { segmentKey } from './sdk/segment.js';

const PAGE = 200;
const CUSTOMERS_IN_PARALLEL = 8;

/**
 * `progress` hears of each page saved; `signal` stops it after the page in hand (the activity's
 * cancellation: a worker that lost its heartbeat stops writing rather than race its retry).
 */
export async function backfillSegment(
  db: Database,
  segments: SegmentEngine,
  key: string,
  options: { progress?: (processed: number) => void; signal?: AbortSignal } = {},
): Promise<{ processed: number; total: number; finished: boolean }> {
  const segment = segments.segments.find((s) => segmentKey(s) === key);
  if (!segment) throw new Error(`segment version ${key} is not in this build`);
  const { profiles, segmentBackfills } = db.collections;
  const saved = (await backfillOf(segmentBackfills, key)) ?? { _id: key, processed: 0, total: await profiles.estimatedDocumentCount(), startedAt: new Date() };
  if (saved.finishedAt) return { processed: saved.processed, total: saved.total, finished: true };
  await saveBackfill(segmentBackfills, saved);
  const ids = profiles.find(saved.cursor ? { _id: { $gt: saved.cursor } } : {}, { projection: { _id: 1 } }).sort({ _id: 1 });
  let page: string[] = [];
  const flush = async () => {
    await pMap(page, (userId) => segments.refresh(userId, 'backfill', [segment]), { concurrency: CUSTOMERS_IN_PARALLEL });
    saved.processed += page.length;
    saved.cursor = page.at(-1);
    await saveBackfill(segmentBackfills, saved);
    options.progress?.(saved.processed);
    page = [];
  };
  for await (const { _id } of ids) {
    page.push(_id);
    if (page.length < PAGE) continue;
    await flush();
    if (options.signal?.aborted) {
      await ids.close();
      return { processed: saved.processed, total: saved.total, finished: false };
    }
  }
  if (page.length) await flush();
  saved.finishedAt = new Date();
  await saveBackfill(segmentBackfills, saved);
  return { processed: saved.processed, total: saved.total, finished: true };
}
