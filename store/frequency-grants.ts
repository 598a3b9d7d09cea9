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
  /** Which sends count: channels (default email and SMS), marketing categories, journeys (default all). */
  channels?: Array<'email' | 'sms'>;
  categories?: string[];
  journeys?: string[];
  /** At the cap: drop the message, or defer it until the window frees up (at most `maxDelayMs`). */
  onCap: 'drop' | 'defer';
  maxDelayMs?: number;
}

export interface GrantDoc {
  _id: string;
  rule: string;
  userId: string;
  seq: number;
  at: Date;
  /** The send's idempotency key: one grant per (rule, send). */
  sendKey: string;
}

export type Reservation = { granted: true } | { granted: false; freeAt: Date; lastSlotHeld?: true };

/**
 * Takes a grant for this send unless the rolling window is full; then says when the oldest grant in
 * the window leaves it. Idempotent per send: a retried send finds its own grant.
 *
 * One read per attempt: the rule's newest `limit` grants for the customer give the next number, the
 * count inside the window and the oldest grant in it. (Grants are numbered in the order they were
 * taken, so a full window is always among the newest `limit`, assuming worker clocks roughly agree.)
 * Any grant added after that read has a number at or above ours, so our insert then collides and we
 * read again: the count is never staler than the number we claim.
 */
export async function reserveGrant(
  grants: Collection<GrantDoc>,
  rule: CapRule,
  userId: string,
  sendKey: string,
  now: Date,
  /** Set: the window's last slot is held for higher priorities until then (see policy.ts). */
  lastSlotHeldUntil?: Date,
): Promise<Reservation> {
  const since = now.getTime() - rule.windowMs;
  for (;;) {
    const newest = await grants.find({ rule: rule.name, userId }).sort({ seq: -1 }).limit(rule.limit).toArray();
    if (newest.some((g) => g.sendKey === sendKey)) return { granted: true };
    const inWindow = newest.filter((g) => g.at.getTime() > since);
    if (inWindow.length >= rule.limit) {
      const oldest = Math.min(...inWindow.map((g) => g.at.getTime()));
      return { granted: false, freeAt: new Date(oldest + rule.windowMs) };
    }
    if (lastSlotHeldUntil && inWindow.length === rule.limit - 1) return { granted: false, freeAt: lastSlotHeldUntil, lastSlotHeld: true };
    const seq = (newest[0]?.seq ?? -1) + 1;
    try {
      await grants.insertOne({ _id: `${rule.name}:${userId}#${seq}`, rule: rule.name, userId, seq, at: now, sendKey });
      return { granted: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Someone took that number, or this very send got its grant in an attempt that died: read again.
    }
  }
}

/** Gives a send's grants back (every rule's) when it will not go out, so it does not use up the cap. */
export async function releaseGrants(grants: Collection<GrantDoc>, sendKey: string): Promise<void> {
  await grants.deleteMany({ sendKey });
}
