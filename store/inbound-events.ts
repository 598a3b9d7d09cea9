/**
 * Deduplication of inbound events by (source, messageId). A unique insert claims the event; it is
 * marked processed only after its effects are durable, so an event whose first delivery failed half
 * way is processed again when the CDP retries (every effect downstream is idempotent).
 */
import type { Collection } from 'mongodb';
import { isDuplicateKey } from './db.js';

export interface InboundEventDoc {
  _id: string;
  status: 'received' | 'processed';
  receivedAt: Date;
}

/** true: process the event; false: it was processed before, do nothing. */
export async function claimInboundEvent(
  events: Collection<InboundEventDoc>,
  source: string,
  messageId: string,
): Promise<boolean> {
  const _id = `${source}:${messageId}`;
  try {
    await events.insertOne({ _id, status: 'received', receivedAt: new Date() });
    return true;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const existing = await events.findOne({ _id });
    return existing?.status !== 'processed';
  }
}

export async function markInboundEventProcessed(
  events: Collection<InboundEventDoc>,
  source: string,
  messageId: string,
): Promise<void> {
  await events.updateOne({ _id: `${source}:${messageId}` }, { $set: { status: 'processed' } });
}
