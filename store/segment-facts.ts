/**
 * The occurrences segments count: one document per (customer, event message), inserted and never
 * updated, so a retried or recovered event cannot count twice (its insert fails as a duplicate) and
 * two events for one customer on two servers cannot lose each other's update (there is none to
 * lose). Only events some segment reads are kept, with only the properties segments read, and only
 * for the event retention: the aggregates (counts, sums, first and last times per window) are
 * computed from a customer's own facts when their segments are evaluated.
 */
import type { Collection } from 'mongodb';
import { insertNew } from './db.js';

export interface SegmentFactDoc {
  /** `<userId>|<source>:<messageId>` */
  _id: string;
  userId: string;
  messageKey: string;
  event: string;
  at: Date;
  /** JSON, since a sender's property names need not be ones a document field may hold. */
  properties: string;
}

export interface NewFact {
  messageKey: string;
  event: string;
  at: Date;
  properties: Record<string, unknown>;
}

export interface StoredFact {
  event: string;
  at: Date;
  properties: Record<string, unknown>;
}

export const factId = (userId: string, messageKey: string) => `${userId}|${messageKey}`;

export async function recordFacts(facts: Collection<SegmentFactDoc>, userId: string, newFacts: NewFact[]): Promise<void> {
  if (!newFacts.length) return;
  await insertNew(
    facts,
    newFacts.map((f) => ({ _id: factId(userId, f.messageKey), userId, messageKey: f.messageKey, event: f.event, at: f.at, properties: JSON.stringify(f.properties) })),
  );
}

/** One customer's facts: an equality read, so its cost is theirs alone. */
export async function factsOf(facts: Collection<SegmentFactDoc>, userId: string): Promise<StoredFact[]> {
  const docs = await facts.find({ userId }).toArray();
  return docs.map((d) => ({ event: d.event, at: d.at, properties: JSON.parse(d.properties) as Record<string, unknown> }));
}

/** An anonymous visitor turned out to be a customer: their occurrences count for the customer. */
export async function moveFacts(facts: Collection<SegmentFactDoc>, fromId: string, intoId: string): Promise<void> {
  const docs = await facts.find({ userId: fromId }).toArray();
  if (!docs.length) return;
  await insertNew(facts, docs.map((d) => ({ ...d, _id: factId(intoId, d.messageKey), userId: intoId })));
}

export async function forgetFactsBefore(facts: Collection<SegmentFactDoc>, before: Date): Promise<number> {
  return (await facts.deleteMany({ at: { $lt: before } })).deletedCount;
}
