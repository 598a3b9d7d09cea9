/**
 * Request counters for the limits on public (browser) write keys, shared by every server process:
 * one document per limit, key and fixed window, `$inc`ed with an upsert. On FerretDB an update is a
 * read-modify-write without a lock, so hits that race may be counted as one: the limit is lenient
 * under a burst, never stricter than configured. Old windows are deleted by the cleanup schedule.
 */
import type { Collection } from 'mongodb';
import { upsertRacing } from './db.js';

export interface RateLimitDoc {
  _id: string;
  n: number;
  /** When the window ends. */
  until: Date;
}

/** Counts one hit in the window `now` falls in; returns the count so far and the window's time left (ms). */
export async function countHit(counters: Collection<RateLimitDoc>, key: string, windowMs: number, now = Date.now()): Promise<{ current: number; ttl: number }> {
  const start = now - (now % windowMs);
  const until = new Date(start + windowMs);
  const _id = `${key}@${start}`;
  const doc = await upsertRacing(() => counters.findOneAndUpdate({ _id }, { $inc: { n: 1 }, $setOnInsert: { until } }, { upsert: true, returnDocument: 'after' }));
  return { current: doc?.n ?? 1, ttl: until.getTime() - now };
}
