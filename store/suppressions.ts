/**
 * Suppressions: who must not get what. Global ('*') or per channel, and optionally per marketing
 * category (an unsubscribe from "promotions" leaves "newsletter" alone). They live in the
 * `policy_records` collection beside the cap grants (see policy-state.ts), so one read returns all of
 * a customer's delivery policy state; every query here therefore carries `kind: 'suppression'`.
 */
import type { Collection } from 'mongodb';

export type SuppressionChannel = '*' | 'email' | 'sms' | 'audience' | 'webhook';

export type SuppressionReason = 'unsubscribe' | 'hard-bounce' | 'complaint' | 'sms-stop' | 'manual' | 'erasure';

/** Lifting sets `liftedAt`; a suppression is never deleted, so its history stays explainable. */
export interface SuppressionDoc {
  kind: 'suppression';
  userId: string;
  channel: SuppressionChannel;
  /** Absent: every category. Set: only marketing messages of that category. */
  category?: string;
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

export type NewSuppression = Omit<SuppressionDoc, 'kind' | 'createdAt'>;

/** These hold even for transactional messages: the address is dead or the person asked to be erased. */
const BLOCKS_TRANSACTIONAL: readonly SuppressionReason[] = ['hard-bounce', 'erasure', 'complaint'];

export async function addSuppression(suppressions: Collection<SuppressionDoc>, entry: NewSuppression): Promise<void> {
  await suppressions.insertOne({ ...entry, kind: 'suppression', createdAt: new Date() });
}

export function isActive(suppression: SuppressionDoc, now: Date): boolean {
  return !suppression.liftedAt && (!suppression.expiresAt || suppression.expiresAt > now);
}

/**
 * The suppression (of those given, one customer's active ones) that holds this message back, if any.
 * A category suppression is a marketing preference, so it never stops a transactional message.
 */
export function suppressionFor(
  active: SuppressionDoc[],
  message: { channel: Exclude<SuppressionChannel, '*'>; category: string },
): SuppressionDoc | undefined {
  const transactional = message.category === 'transactional';
  return active.find(
    (s) =>
      (s.channel === '*' || s.channel === message.channel) &&
      (s.category === undefined || (!transactional && s.category === message.category)) &&
      (!transactional || BLOCKS_TRANSACTIONAL.includes(s.reason)),
  );
}

/** A customer's suppressions, lifted and expired ones included, oldest first. */
export async function suppressionHistory(suppressions: Collection<SuppressionDoc>, userId: string): Promise<SuppressionDoc[]> {
  return suppressions.find({ kind: 'suppression', userId }).sort({ createdAt: 1 }).toArray();
}

/**
 * Lifting is recorded on the suppression, never a delete: "why did this start again?" stays
 * answerable. It lifts exactly the scope named: a channel-wide suppression is not lifted by lifting
 * one category, nor the other way round.
 */
export async function liftSuppressions(
  suppressions: Collection<SuppressionDoc>,
  filter: { userId: string; channel: SuppressionChannel; category?: string; reasons: SuppressionReason[] },
  source: string,
): Promise<number> {
  const result = await suppressions.updateMany(
    {
      kind: 'suppression',
      userId: filter.userId,
      channel: filter.channel,
      category: filter.category ?? { $exists: false },
      reason: { $in: filter.reasons },
      liftedAt: { $exists: false },
    },
    { $set: { liftedAt: new Date(), liftSource: source } },
  );
  return result.modifiedCount;
}

/** Expired suppressions are marked lifted by the cleanup schedule (kept, like every lifting). */
export async function liftExpiredSuppressions(suppressions: Collection<SuppressionDoc>, now: Date): Promise<number> {
  const result = await suppressions.updateMany(
    { kind: 'suppression', expiresAt: { $lte: now }, liftedAt: { $exists: false } },
    { $set: { liftedAt: now, liftSource: 'expired' } },
  );
  return result.modifiedCount;
}
