/**
 * The delivery ledger: one document per send attempt of a journey step, keyed by the step's
 * idempotency key, holding the decision and its reason. A send is claimed (unique insert, status
 * 'sending') just before the provider is called and completed after; a retry that finds its own
 * claim still 'sending' knows a previous attempt died mid-send and does not send again. Nothing reads
 * the ledger before deciding: the unique insert is where a retry meets its earlier attempt.
 */
import type { Collection } from 'mongodb';
import type { DeliveryOutcome, DeliveryRequest } from '../workflows/sdk/types.js';
import { isDuplicateKey } from './db.js';
import { hourOf, noteHour, type LedgerHourDoc } from './ledger-hours.js';

/** The ledger with its list of hours, which every write that stamps an entry keeps up. */
export interface LedgerCollections {
  ledger: Collection<LedgerDoc>;
  ledgerHours: Collection<LedgerHourDoc>;
}

export interface LedgerDoc {
  _id: string;
  userId: string;
  journeyId: string;
  /** The journey version that sent (absent in entries from older builds). */
  version?: number;
  stepId: string;
  workflowId: string;
  channel: DeliveryRequest['channel'];
  /** The template, or the audience and action, the step asked for. */
  subject: string;
  category: DeliveryRequest['category'];
  status: 'sending' | 'done';
  delivered: boolean;
  reason: string;
  /** A deferral's end, as the outcome gave it to the journey. */
  deferUntil?: string;
  at: Date;
  /** The UTC hour of `at` (ledger-hours.ts). */
  hour?: string;
  providerMessageId?: string;
  detail?: string;
  /** What the provider reported later (Twilio status callbacks): delivered, undelivered, failed… */
  providerStatus?: string;
  providerErrorCode?: string;
  /** The Temporal attempt that took a claim ('sending'). */
  attempt?: number;
  /**
   * For an unknown outcome: the request as JSON, so an operator can have it sent again (`unknown
   * resolve`). JSON, because its event data may hold property names no document field may.
   */
  request?: string;
  /** How an operator settled an unknown outcome. */
  resolution?: { as: 'sent' | 'resend'; at: Date; by: string; resendKey?: string };
}

/** A send that may or may not have gone out: an attempt died, or the provider's answer was lost. */
export const UNKNOWN_OUTCOME = 'unknown-outcome';

function entryFor(request: DeliveryRequest): Omit<LedgerDoc, 'status' | 'delivered' | 'reason' | 'at'> {
  return {
    _id: request.idempotencyKey,
    userId: request.userId,
    journeyId: request.journeyId,
    ...(request.version !== undefined ? { version: request.version } : {}),
    stepId: request.stepId,
    workflowId: request.workflowId,
    channel: request.channel,
    subject:
      request.channel === 'audience' ? `${request.action}:${request.audience}` : request.channel === 'webhook' ? `webhook:${request.endpoint}` : request.template,
    category: request.category,
  };
}

export function outcomeOf(doc: Pick<LedgerDoc, 'delivered' | 'reason' | 'deferUntil'>): DeliveryOutcome {
  return { delivered: doc.delivered, reason: doc.reason, ...(doc.deferUntil ? { deferUntil: doc.deferUntil } : {}) };
}

export async function findLedgerEntry(ledger: Collection<LedgerDoc>, key: string): Promise<LedgerDoc | undefined> {
  return (await ledger.findOne({ _id: key })) ?? undefined;
}

/**
 * Writes the step's entry: a decision not to send ('done'), or a claim just before the provider call
 * ('sending'). One unique insert; when the step already has an entry (an earlier attempt of it), that
 * entry is returned instead and nothing is written.
 */
export async function insertEntry(
  { ledger, ledgerHours }: LedgerCollections,
  request: DeliveryRequest,
  entry: { status: 'done'; outcome: DeliveryOutcome; detail?: string } | { status: 'sending'; attempt: number },
): Promise<LedgerDoc | undefined> {
  const fields =
    entry.status === 'done' ? { ...entry.outcome, ...(entry.detail ? { detail: entry.detail } : {}) } : { delivered: false, reason: 'sending', attempt: entry.attempt };
  for (;;) {
    const at = new Date();
    await noteHour(ledgerHours, hourOf(at));
    try {
      await ledger.insertOne({ ...entryFor(request), status: entry.status, ...fields, at, hour: hourOf(at) });
      return undefined;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await findLedgerEntry(ledger, request.idempotencyKey);
      if (existing) return existing;
      // The entry was a claim, released in between (its attempt failed transiently): insert again.
    }
  }
}

export async function completeSend(
  { ledger, ledgerHours }: LedgerCollections,
  key: string,
  outcome: DeliveryOutcome,
  fields: { providerMessageId?: string; detail?: string; request?: DeliveryRequest },
): Promise<void> {
  const { request, ...rest } = fields;
  const at = new Date();
  await noteHour(ledgerHours, hourOf(at));
  const set = { status: 'done' as const, ...outcome, ...rest, ...(request ? { request: JSON.stringify(request) } : {}), at, hour: hourOf(at) };
  await ledger.updateOne({ _id: key }, { $set: set });
}

/** Drops a claim whose provider call certainly did not send (or was never made), so the retry may. */
export async function releaseClaim(ledger: Collection<LedgerDoc>, key: string): Promise<void> {
  await ledger.deleteOne({ _id: key, status: 'sending' });
}

export async function ledgerForUser(ledger: Collection<LedgerDoc>, userId: string): Promise<LedgerDoc[]> {
  return ledger.find({ userId }).sort({ at: 1 }).toArray();
}

/** The email send whose Message-ID carries this token (see activities/verp.ts). */
export async function findBySendToken(ledger: Collection<LedgerDoc>, token: string): Promise<LedgerDoc | undefined> {
  return (await ledger.findOne({ providerMessageId: { $regex: `^<${token}@` } })) ?? undefined;
}

export async function recordProviderStatus(
  ledger: Collection<LedgerDoc>,
  providerMessageId: string,
  status: string,
  errorCode: string | undefined,
): Promise<LedgerDoc | undefined> {
  const entry = await ledger.findOne({ providerMessageId });
  if (!entry) return undefined;
  await ledger.updateOne({ _id: entry._id }, { $set: { providerStatus: status, ...(errorCode ? { providerErrorCode: errorCode } : {}) } });
  return entry;
}

/** Unknown outcomes no operator has settled yet, oldest first: the operator's queue. */
export async function unresolvedUnknowns(ledger: Collection<LedgerDoc>, userId?: string): Promise<LedgerDoc[]> {
  return ledger.find({ reason: UNKNOWN_OUTCOME, resolution: { $exists: false }, ...(userId ? { userId } : {}) }).sort({ at: 1 }).toArray();
}

/**
 * Settles an unknown outcome: 'sent' when the operator knows it arrived (the provider's logs say so),
 * 'resend' when a new send has been started for it. Returns false if it was not an unsettled one.
 */
export async function resolveUnknown(ledger: Collection<LedgerDoc>, key: string, resolution: NonNullable<LedgerDoc['resolution']>): Promise<boolean> {
  const result = await ledger.updateOne(
    { _id: key, reason: UNKNOWN_OUTCOME, resolution: { $exists: false } },
    { $set: { resolution, ...(resolution.as === 'sent' ? { delivered: true, reason: 'sent' } : {}) } },
  );
  return result.modifiedCount === 1;
}
