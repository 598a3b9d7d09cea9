/**
 * Frequency caps as grants: every message that counts against a cap holds one grant document.
 * Grants of one (rule, user) are numbered 0, 1, 2, … and the number is part of `_id`, so taking the
 * next number is a unique insert: of any racers that read the same state, exactly one succeeds and
 * the others read again. That makes a cap exact on FerretDB (no atomic read-modify-write) as well as
 * on MongoDB, with no lock and no per-user process. Grants live in `policy_records` beside the
 * suppressions (see policy-state.ts), so every query here carries `kind: 'grant'`.
 */
import type { Collection } from 'mongodb';
import { insertNew } from './db.js';

export interface CapRule {
  name: string;
  limit: number;
  windowMs: number;
  /** Which sends count: channels (default email and SMS), marketing categories, journeys (default all). */
  channels?: Array<'email' | 'sms'>;
  categories?: string[];
  /** Marketing categories this rule does not count (e.g. back-in-stock alerts). */
  exemptCategories?: string[];
  journeys?: string[];
  /** At the cap: drop the message, or defer it until the window frees up (at most `maxDelayMs`). */
  onCap: 'drop' | 'defer';
  maxDelayMs?: number;
}

export interface GrantDoc {
  _id: string;
  kind: 'grant';
  rule: string;
  userId: string;
  seq: number;
  at: Date;
  /** The send's idempotency key: a retried send finds its own grant. */
  sendKey: string;
}

/** What one rule says about one send, given the customer's grants as last read. */
export type RuleCheck =
  | { kind: 'held' }
  | { kind: 'free'; grant: GrantDoc }
  | { kind: 'full'; freeAt: Date }
  | { kind: 'last-slot-held'; freeAt: Date };

/**
 * Whether this send may take a grant under the rule. The count is over all the customer's grants of
 * the rule read in the same round trip; any grant added since has a number at or above the one we
 * would claim, so our insert then collides and the caller reads again: never staler than the claim.
 * A grant already held by this send (an earlier attempt took it) counts as taken.
 */
export function checkRule(
  rule: CapRule,
  grants: GrantDoc[],
  send: { userId: string; sendKey: string },
  now: Date,
  /** Set: the window's last slot is held for higher priorities until then (see policy.ts). */
  lastSlotHeldUntil?: Date,
): RuleCheck {
  const ofRule = grants.filter((g) => g.rule === rule.name);
  if (ofRule.some((g) => g.sendKey === send.sendKey)) return { kind: 'held' };
  const since = now.getTime() - rule.windowMs;
  const inWindow = ofRule.filter((g) => g.at.getTime() > since);
  if (inWindow.length >= rule.limit) {
    const oldest = Math.min(...inWindow.map((g) => g.at.getTime()));
    return { kind: 'full', freeAt: new Date(oldest + rule.windowMs) };
  }
  if (lastSlotHeldUntil && inWindow.length === rule.limit - 1) return { kind: 'last-slot-held', freeAt: lastSlotHeldUntil };
  const seq = Math.max(-1, ...ofRule.map((g) => g.seq)) + 1;
  return {
    kind: 'free',
    grant: { _id: `${rule.name}:${send.userId}#${seq}`, kind: 'grant', rule: rule.name, userId: send.userId, seq, at: now, sendKey: send.sendKey },
  };
}

/**
 * Inserts the grants in one round trip and returns those that went in. Fewer than given means a
 * number was taken meanwhile: the caller reads again (the ones that did go in are found as held).
 */
export async function insertGrants(grants: Collection<GrantDoc>, docs: GrantDoc[]): Promise<GrantDoc[]> {
  if (docs.length === 0) return [];
  const taken = await insertNew(grants, docs);
  return docs.filter((_, index) => !taken.has(index));
}

/** Gives back grants an attempt took itself, when another rule turned the send away. */
export async function releaseGrantsTaken(grants: Collection<GrantDoc>, taken: GrantDoc[]): Promise<void> {
  if (taken.length) await grants.deleteMany({ _id: { $in: taken.map((g) => g._id) } });
}

/** Gives a send's grants back (every rule's) when it will not go out, so it does not use up the cap. */
export async function releaseGrants(grants: Collection<GrantDoc>, sendKey: string): Promise<void> {
  await grants.deleteMany({ kind: 'grant', sendKey });
}
