/**
 * Deduplication of inbound events by (source, messageId), with inserts only, the one write that is
 * atomic on FerretDB as on MongoDB (and cheap there). A unique insert claims each event; once its
 * effects are durable a second document, `<claim>#processed`, marks it done. An event claimed but
 * never marked (its first attempt failed half way) is processed again when the CDP retries it; every
 * effect downstream is idempotent. A batch is claimed and marked with one round trip each.
 */
import type { Collection } from 'mongodb';
import { insertNew } from './db.js';

export interface InboundEventDoc {
  /** `<source>:<messageId>` (the claim) or `<source>:<messageId>#processed` (done). */
  _id: string;
  receivedAt: Date;
}

const claimId = (source: string, messageId: string) => `${source}:${messageId}`;
const doneId = (source: string, messageId: string) => `${claimId(source, messageId)}#processed`;

/** For each messageId (distinct), true: process the event; false: it was processed before. */
export async function claimInboundEvents(events: Collection<InboundEventDoc>, source: string, messageIds: string[]): Promise<boolean[]> {
  const receivedAt = new Date();
  const taken = await insertNew(events, messageIds.map((id) => ({ _id: claimId(source, id), receivedAt })));
  if (!taken.size) return messageIds.map(() => true);
  const candidates = [...taken].map((index) => doneId(source, messageIds[index]!));
  const done = new Set((await events.find({ _id: { $in: candidates } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
  return messageIds.map((id, index) => !taken.has(index) || !done.has(doneId(source, id)));
}

export async function markInboundEventsProcessed(events: Collection<InboundEventDoc>, source: string, messageIds: string[]): Promise<void> {
  if (!messageIds.length) return;
  const receivedAt = new Date();
  await insertNew(events, messageIds.map((id) => ({ _id: doneId(source, id), receivedAt })));
}
