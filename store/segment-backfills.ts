/**
 * A segment version's backfill over the profiles that existed before it: where it has got to (the
 * last customer id done, in id order), so a worker that dies resumes there, and the console shows
 * the progress. Written only by the backfill's own activity.
 */
import type { Collection } from 'mongodb';

export interface SegmentBackfillDoc {
  /** The segment version, `<id>@<version>`. */
  _id: string;
  cursor?: string;
  processed: number;
  /** Profiles when the backfill started: the progress's denominator. */
  total: number;
  startedAt: Date;
  finishedAt?: Date;
}

export async function backfillOf(backfills: Collection<SegmentBackfillDoc>, segment: string): Promise<SegmentBackfillDoc | undefined> {
  return (await backfills.findOne({ _id: segment })) ?? undefined;
}

export async function saveBackfill(backfills: Collection<SegmentBackfillDoc>, doc: SegmentBackfillDoc): Promise<void> {
  const { _id, ...fields } = doc;
  await backfills.updateOne({ _id }, { $set: fields }, { upsert: true });
}
