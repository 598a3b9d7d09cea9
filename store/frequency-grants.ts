/**
 * Frequency caps as grants: every message that counts against a cap holds one grant document.
 * Grants of one (rule, user) are numbered 0, 1, 2, … and the number is part of `_id`, so taking the
 * next number is a unique insert: of any racers that read the same state, exactly one succeeds and
 * the others read again. That makes a cap exact on FerretDB (no atomic read-modify-write) as well as
 * on MongoDB, with no lock and no per-user process.
 */
import type { Collection } from 'mongodb';
import { isDuplicateKey } from './db.js';

export interface CapRule {
  name: string;
  limit: number;
  windowMs: number;
}

export interface GrantDoc {
  _id: string;
  rule: string;
  userId: string;
  seq: number;
  at: Date;
  idempotencyKey: string;
}

/**
 * Takes a grant for this send unless the rolling window is full. Idempotent per key: a retried send
 * finds its own grant instead of taking a second one.
 */
export async function reserveGrant(
  grants: Collection<GrantDoc>,
  rule: CapRule,
  userId: string,
  idempotencyKey: string,
  now: Date,
): Promise<boolean> {
  for (;;) {
    if (await grants.findOne({ idempotencyKey })) return true;
    // Read the newest grant before counting: any grant added after this read has a number at or above
    // ours, so our insert then collides and we count again; the count can never be staler than `seq`.
    const [newest] = await grants.find({ rule: rule.name, userId }).sort({ seq: -1 }).limit(1).toArray();
    const inWindow = await grants.countDocuments({
      rule: rule.name,
      userId,
      at: { $gt: new Date(now.getTime() - rule.windowMs) },
    });
    if (inWindow >= rule.limit) return false;
    const seq = (newest?.seq ?? -1) + 1;
    try {
      await grants.insertOne({ _id: `${rule.name}:${userId}#${seq}`, rule: rule.name, userId, seq, at: now, idempotencyKey });
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
}

/** Gives a grant back when its send failed for good, so a failure does not use up the customer's cap. */
export async function releaseGrant(grants: Collection<GrantDoc>, idempotencyKey: string): Promise<void> {
  await grants.deleteOne({ idempotencyKey });
}
