/**
 * When time alone may change a customer's memberships (an occurrence leaving its window, a date
 * coming of age): one insert-only record per (customer, instant), filed under its UTC minute. The
 * segment clock reads minute by minute, each by equality (FerretDB pushes only equality filters down
 * to its indexes), so a run costs the dues it finds, never the number of customers. An instant noted
 * twice is one record; an instant that no longer matters costs one evaluation that changes nothing.
 */
import type { Collection } from 'mongodb';
import { insertNew } from './db.js';

export interface SegmentDueDoc {
  /** `<userId>|<instant ISO>` */
  _id: string;
  userId: string;
  minute: string;
  dueAt: Date;
}

/** The clock's watermark: every minute before `minute` has been applied. */
export interface SegmentClockDoc {
  _id: 'clock';
  minute: string;
}

export const minuteOf = (at: Date) => at.toISOString().slice(0, 16);
export const nextMinute = (minute: string) => minuteOf(new Date(Date.parse(`${minute}:00Z`) + 60_000));

export async function noteDue(dues: Collection<SegmentDueDoc>, userId: string, dueAt: Date): Promise<void> {
  await insertNew(dues, [{ _id: `${userId}|${dueAt.toISOString()}`, userId, minute: minuteOf(dueAt), dueAt }]);
}

export async function duesIn(dues: Collection<SegmentDueDoc>, minute: string): Promise<SegmentDueDoc[]> {
  return dues.find({ minute }).toArray();
}

/** Each by its id: an equality delete per due, in one round trip (`$in` would scan on FerretDB). */
export async function clearDues(dues: Collection<SegmentDueDoc>, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await dues.bulkWrite(ids.map((_id) => ({ deleteOne: { filter: { _id } } })), { ordered: false });
}

export async function readClock(clock: Collection<SegmentClockDoc>): Promise<string | undefined> {
  return (await clock.findOne({ _id: 'clock' }))?.minute;
}

/** The clock schedule is the one writer of its watermark. */
export async function advanceClock(clock: Collection<SegmentClockDoc>, minute: string): Promise<void> {
  await clock.updateOne({ _id: 'clock' }, { $set: { minute } }, { upsert: true });
}
