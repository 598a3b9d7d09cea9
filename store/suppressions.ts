import type { Collection } from 'mongodb';

export type SuppressionChannel = '*' | 'email' | 'sms' | 'audience' | 'webhook';

export type SuppressionReason = 'unsubscribe' | 'hard-bounce' | 'complaint' | 'sms-stop' | 'manual' | 'erasure';

/** Lifting sets `liftedAt`; a suppression is never deleted, so its history stays explainable. */
export interface SuppressionDoc {
  userId: string;
  channel: SuppressionChannel;
  reason: SuppressionReason;
  source: string;
  /** What proves it: the inbound message, the provider error, the signed link. */
  evidence?: string;
  createdAt: Date;
  /** Absent: permanent. */
  expiresAt?: Date;
  liftedAt?: Date;
  liftSource?: string;
}

/** These hold even for transactional messages: the address is dead or the person asked to be erased. */
const BLOCKS_TRANSACTIONAL: readonly SuppressionReason[] = ['hard-bounce', 'erasure', 'complaint'];

export async function addSuppression(
  suppressions: Collection<SuppressionDoc>,
  entry: Omit<SuppressionDoc, 'createdAt'>,
): Promise<void> {
  await suppressions.insertOne({ ...entry, createdAt: new Date() });
}

export async function findActiveSuppression(
  suppressions: Collection<SuppressionDoc>,
  userId: string,
  channel: Exclude<SuppressionChannel, '*'>,
  transactional: boolean,
): Promise<SuppressionDoc | undefined> {
  const now = Date.now();
  const active = await suppressions
    .find({ userId, channel: { $in: ['*', channel] }, liftedAt: { $exists: false } })
    .toArray();
  return active.find((s) => (!s.expiresAt || s.expiresAt.getTime() > now) && (!transactional || BLOCKS_TRANSACTIONAL.includes(s.reason)));
}

/** Lifting is recorded on the suppression, never a delete: "why did this start again?" stays answerable. */
export async function liftSuppressions(
  suppressions: Collection<SuppressionDoc>,
  filter: { userId: string; channel: SuppressionChannel; reasons: SuppressionReason[] },
  source: string,
): Promise<number> {
  const result = await suppressions.updateMany(
    { userId: filter.userId, channel: filter.channel, reason: { $in: filter.reasons }, liftedAt: { $exists: false } },
    { $set: { liftedAt: new Date(), liftSource: source } },
  );
  return result.modifiedCount;
}

/** Expired suppressions are marked lifted by the cleanup schedule (kept, like every lifting). */
export async function liftExpiredSuppressions(suppressions: Collection<SuppressionDoc>, now: Date): Promise<number> {
  const result = await suppressions.updateMany(
    { expiresAt: { $lte: now }, liftedAt: { $exists: false } },
    { $set: { liftedAt: now, liftSource: 'expired' } },
  );
  return result.modifiedCount;
}
