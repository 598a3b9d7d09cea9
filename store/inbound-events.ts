/**
 * Each inbound event has at most one effect, with inserts only (the one write that is atomic on
 * FerretDB as on MongoDB). A unique insert per (source, messageId) claims the event, carrying the
 * event itself; whoever inserts it is the one to act on it, and every other copy, however
 * concurrent or late, does nothing: recognising a duplicate is one failed insert, with no read, so
 * its cost does not grow with the events stored. Once the effects are durable a second document,
 * `<claim>#processed`, marks the claim done. A claim left unmarked (its claimer failed or died half
 * way) is finished by one writer, the recovery schedule (see finishAbandonedEvents), never by a copy.
 * The recovery finds such claims by an outbox mark, `open`, taken with the claim and cleared once it
 * is done: an equality read of the few claims in flight or left, never a scan of the day's events.
 */
import type { Collection } from 'mongodb';
import { insertNew, updateInCommands, type MigrationDoc } from './db.js';

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
  /** On a claim: true until its effects are done, then false. The recovery schedule's outbox mark. */
  open?: boolean;
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
  const docs = claims.map(({ messageId, message }) => ({ _id: claimId(source, messageId), source, messageId, message: JSON.stringify(message), ...options, open: true as const }));
  const taken = await insertNew(events, docs);
  return claims.map((_, index) => !taken.has(index));
}

/** Marks the claims done, then clears their outbox marks (a claimer that dies in between leaves a mark the recovery clears). */
export async function markInboundEventsProcessed(events: Collection<InboundEventDoc>, source: string, messageIds: string[]): Promise<void> {
  if (!messageIds.length) return;
  const receivedAt = new Date();
  await insertNew(events, messageIds.map((id) => ({ _id: doneId(claimId(source, id)), receivedAt })));
  await clearMarks(events, messageIds.map((id) => claimId(source, id)));
}

/**
 * Sets the claims' marks, each update by `_id` (FerretDB pushes equality down, not `$in`), a few to a
 * command (updateInCommands: a batch's hundreds in one command deadlocked FerretDB).
 */
async function setMarks(events: Collection<InboundEventDoc>, claims: string[], open: boolean): Promise<void> {
  await updateInCommands(events, claims.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { open } } } })));
}
const clearMarks = (events: Collection<InboundEventDoc>, claims: string[]) => setMarks(events, claims, false);

/** Whether an accepted event's effects are all done (its claim marked processed): one read by id. */
export async function isProcessed(events: Collection<InboundEventDoc>, source: string, messageId: string): Promise<boolean> {
  return (await events.countDocuments({ _id: doneId(claimId(source, messageId)) })) > 0;
}

/**
 * Claims received in [since, before) that were never marked processed: an equality read of the
 * outbox marks, so its cost follows the claims in flight, not the events stored. For the recovery
 * schedule alone, never the ingestion path. A mark whose claim is done (its claimer died between the
 * two writes) is cleared here.
 */
export async function findAbandonedClaims(events: Collection<InboundEventDoc>, window: { since: Date; before: Date }): Promise<AbandonedClaim[]> {
  const open = (await events.find({ open: true }).toArray()).filter((c) => c.receivedAt >= window.since && c.receivedAt < window.before);
  const done = new Set((await Promise.all(open.map(async (c) => ((await events.countDocuments({ _id: doneId(c._id) })) ? c._id : undefined)))).filter((id) => id !== undefined));
  await clearMarks(events, [...done]);
  return open
    .filter((c) => !done.has(c._id))
    .map((c) => ({ source: c.source!, messageId: c.messageId!, message: JSON.parse(c.message!) as unknown, receivedAt: c.receivedAt, forwarded: c.forwarded ?? false }));
}

/** The migration that marks the claims of builds before the outbox mark (see markUnfinishedClaims). */
const MARKS_TAKEN = 'inbound-open-marks';

/**
 * Claims taken by a build before the outbox mark and left unfinished in the window: marked, so the
 * recovery finds them. Workers run it at start; it scans the window once per deployment (two workers
 * at once mark the same claims), in pages of done-ids, then notes it is done.
 */
export async function markUnfinishedClaims(events: Collection<InboundEventDoc>, migrations: Collection<MigrationDoc>, since: Date): Promise<number> {
  if (await migrations.countDocuments({ _id: MARKS_TAKEN })) return 0;
  const claims = await events.find({ receivedAt: { $gte: since }, message: { $exists: true }, open: { $exists: false } }, { projection: { _id: 1 } }).toArray();
  const unfinished: string[] = [];
  for (let i = 0; i < claims.length; i += 1_000) {
    const page = claims.slice(i, i + 1_000);
    const done = new Set((await events.find({ _id: { $in: page.map((c) => doneId(c._id)) } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
    unfinished.push(...page.filter((c) => !done.has(doneId(c._id))).map((c) => c._id));
  }
  await setMarks(events, unfinished, true);
  await insertNew(migrations, [{ _id: MARKS_TAKEN, at: new Date() }]);
  return unfinished.length;
}
