/**
 * Deduplication of inbound events by (source, messageId). A unique insert claims each event; it is
 * marked processed only after its effects are durable, so an event whose first delivery failed half
 * way is processed again when the CDP retries (every effect downstream is idempotent). A batch is
 * claimed and marked with one round trip each, not one per event.
 */
import { MongoBulkWriteError, type Collection } from 'mongodb';

export interface InboundEventDoc {
  _id: string;
  status: 'received' | 'processed';
  receivedAt: Date;
}

const claimId = (source: string, messageId: string) => `${source}:${messageId}`;

/**
 * For each messageId (distinct), true: process the event; false: it was processed before. An id
 * claimed earlier but never marked processed is processed again (its first attempt failed).
 */
export async function claimInboundEvents(events: Collection<InboundEventDoc>, source: string, messageIds: string[]): Promise<boolean[]> {
  const receivedAt = new Date();
  const taken = new Set<number>();
  try {
    await events.insertMany(messageIds.map((id) => ({ _id: claimId(source, id), status: 'received' as const, receivedAt })), { ordered: false });
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    for (const writeError of errors) {
      if (writeError.code !== 11000) throw err;
      taken.add(writeError.index);
    }
  }
  if (!taken.size) return messageIds.map(() => true);
  const ids = [...taken].map((index) => claimId(source, messageIds[index]!));
  const processed = new Set((await events.find({ _id: { $in: ids }, status: 'processed' }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
  return messageIds.map((id, index) => !taken.has(index) || !processed.has(claimId(source, id)));
}

export async function markInboundEventsProcessed(events: Collection<InboundEventDoc>, source: string, messageIds: string[]): Promise<void> {
  if (!messageIds.length) return;
  await events.updateMany({ _id: { $in: messageIds.map((id) => claimId(source, id)) } }, { $set: { status: 'processed' } });
}
