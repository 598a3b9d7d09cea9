/**
 * Holds: times when no promotional message may reach a customer, from any journey. A rule names the
 * event that starts one (`Ticket Opened`, `Order Completed`), how long it lasts at most, and
 * optionally the event that ends it early (`Ticket Resolved`). Both are insert-only records in
 * `policy_records` (keyed by the event's messageId, so a copy of the event writes nothing new), which
 * the delivery decision already reads in its one policy query: no extra round trip, and nothing to
 * race on FerretDB. A hold is active from its event's time until its end, unless an ending event at
 * or after its start has arrived, in whatever order the two came in.
 */
import type { Collection } from 'mongodb';
import { insertNew } from './db.js';

export interface HoldRule {
  name: string;
  /** The event that starts a hold. */
  on: string;
  /** The event that ends it early, if any. */
  endOn?: string;
  /** How long a hold lasts at most (ms). */
  forMs: number;
  /** 'defer': messages wait until the hold ends; 'drop': they are not sent. */
  action: 'defer' | 'drop';
}

export interface HoldDoc {
  _id: string;
  kind: 'hold';
  userId: string;
  rule: string;
  from: Date;
  until: Date;
}

export interface HoldEndDoc {
  _id: string;
  kind: 'hold-end';
  userId: string;
  rule: string;
  at: Date;
}

/** Records the holds an event starts or ends for the customer. */
export async function recordHoldEvents(
  records: Collection<HoldDoc | HoldEndDoc>,
  rules: readonly HoldRule[],
  event: { userId: string; event: string; messageId: string; at: Date },
): Promise<void> {
  const docs: Array<HoldDoc | HoldEndDoc> = [];
  for (const rule of rules) {
    if (rule.on === event.event) {
      docs.push({ _id: `hold:${rule.name}:${event.userId}:${event.messageId}`, kind: 'hold', userId: event.userId, rule: rule.name, from: event.at, until: new Date(event.at.getTime() + rule.forMs) });
    }
    if (rule.endOn === event.event) {
      docs.push({ _id: `hold-end:${rule.name}:${event.userId}:${event.messageId}`, kind: 'hold-end', userId: event.userId, rule: rule.name, at: event.at });
    }
  }
  if (docs.length) await insertNew(records, docs);
}

/** The holds in force now: each with when it ends at the latest. */
export function activeHolds(docs: ReadonlyArray<HoldDoc | HoldEndDoc>, now: Date): HoldDoc[] {
  const ends = docs.filter((d): d is HoldEndDoc => d.kind === 'hold-end');
  return docs.filter(
    (d): d is HoldDoc => d.kind === 'hold' && d.from <= now && now < d.until && !ends.some((e) => e.rule === d.rule && e.at >= d.from),
  );
}
