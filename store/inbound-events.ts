/**
 * Each inbound event has at most one effect, with inserts only (the one write that is atomic on
 * FerretDB as on MongoDB). A unique insert per (source, messageId) claims the event, carrying the
 * event itself; whoever inserts it is the one to act on it, and every other copy, however
 * concurrent or late, does nothing: recognising a duplicate is one failed insert, with no read, so
 * its cost does not grow with the events stored. Once the effects are durable a second document,
 * `<claim>#processed`, marks the claim done. A claim left unmarked (its claimer failed or died half
 * way) is finished by one writer, the recovery schedule (see finishAbandonedEvents), never by a copy.
 */
import type { Collection } from 'mongodb';
import { insertNew } from './db.js';

export interface InboundEventDoc {
  /** `<source>:<messageId>` (the claim) or `<source>:<messageId>#processed` (done). */
  _id: string;
  receivedAt: Date;
  /**
   * On a claim: the event as accepted, for the recovery schedule. JSON, because a CDP's property
   * names may hold dots or a leading '$', which a document field may not on every server.
   */
  source?: string;
  messageId?: string;
  message?: string;
  forwarded?: boolean;
}

/** An accepted event whose claimer never marked it processed. */
export interface AbandonedClaim {
  source: string;
  messageId: string;
  message: unknown;
  receivedAt: Date;
  forwarded: boolean;
}

const claimId = (source: string, messageId: string) => `${source}:${messageId}`;
const doneId = (claim: string) => `${claim}#processed`;

/** For each event (distinct messageIds), true: this call claimed it and acts on it; false: a copy. */
export async function claimInboundEvents(
  events: Collection<InboundEventDoc>,
  source: string,
  claims: { messageId: string; message: unknown }[],
  options: { receivedAt: Date; forwarded: boolean },
): Promise<boolean[]> {
  const docs = claims.map(({ messageId, message }) => ({ _id: claimId(source, messageId), source, messageId, message: JSON.stringify(message), ...options }));
  const taken = await insertNew(events, docs);
  return claims.map((_, index) => !taken.has(index));
}

export async function markInboundEventsProcessed(events: Collection<InboundEventDoc>, source: string, messageIds: string[]): Promise<void> {
  if (!messageIds.length) return;
  const receivedAt = new Date();
  await insertNew(events, messageIds.map((id) => ({ _id: doneId(claimId(source, id)), receivedAt })));
}

/** Whether an accepted event's effects are all done (its claim marked processed): one read by id. */
export async function isProcessed(events: Collection<InboundEventDoc>, source: string, messageId: string): Promise<boolean> {
  return (await events.countDocuments({ _id: doneId(claimId(source, messageId)) })) > 0;
}

/**
 * Claims received in [since, before) that were never marked processed. A scan of that window, run by
 * the recovery schedule alone, never on the ingestion path.
 */
export async function findAbandonedClaims(events: Collection<InboundEventDoc>, window: { since: Date; before: Date }): Promise<AbandonedClaim[]> {
  const claims = await events.find({ receivedAt: { $gte: window.since, $lt: window.before }, message: { $exists: true } }).toArray();
  if (!claims.length) return [];
  const done = new Set((await events.find({ _id: { $in: claims.map((c) => doneId(c._id)) } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
  return claims
    .filter((c) => !done.has(doneId(c._id)))
    .map((c) => ({ source: c.source!, messageId: c.messageId!, message: JSON.parse(c.message!) as unknown, receivedAt: c.receivedAt, forwarded: c.forwarded ?? false }));
}
