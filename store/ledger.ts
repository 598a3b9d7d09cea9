/**
 * The delivery ledger: one document per send attempt of a journey step, keyed by the step's
 * idempotency key, holding the decision and its reason. A send is claimed (unique insert, status
 * 'sending') just before the provider is called and completed after; a retry that finds its own
 * claim still 'sending' knows a previous attempt died mid-send and does not send again.
 */
import type { Collection } from 'mongodb';
import type { DeliveryOutcome, DeliveryRequest } from '../workflows/sdk/types.js';
import { isDuplicateKey } from './db.js';

export interface LedgerDoc {
  _id: string;
  userId: string;
  journeyId: string;
  stepId: string;
  workflowId: string;
  channel: DeliveryRequest['channel'];
  /** The template, or the audience and action, the step asked for. */
  subject: string;
  category: DeliveryRequest['category'];
  status: 'sending' | 'done';
  delivered: boolean;
  reason: string;
  at: Date;
  providerMessageId?: string;
  detail?: string;
  /** What the provider reported later (Twilio status callbacks): delivered, undelivered, failed… */
  providerStatus?: string;
  providerErrorCode?: string;
}

function entryFor(request: DeliveryRequest): Omit<LedgerDoc, 'status' | 'delivered' | 'reason' | 'at'> {
  return {
    _id: request.idempotencyKey,
    userId: request.userId,
    journeyId: request.journeyId,
    stepId: request.stepId,
    workflowId: request.workflowId,
    channel: request.channel,
    subject:
      request.channel === 'audience' ? `${request.action}:${request.audience}` : request.channel === 'webhook' ? `webhook:${request.endpoint}` : request.template,
    category: request.category,
  };
}

export function outcomeOf(doc: Pick<LedgerDoc, 'delivered' | 'reason'>): DeliveryOutcome {
  return { delivered: doc.delivered, reason: doc.reason };
}

export async function findLedgerEntry(ledger: Collection<LedgerDoc>, key: string): Promise<LedgerDoc | undefined> {
  return (await ledger.findOne({ _id: key })) ?? undefined;
}

/** Records a decision not to send. If the step already has an entry, that entry stands. */
export async function recordDecision(
  ledger: Collection<LedgerDoc>,
  request: DeliveryRequest,
  outcome: DeliveryOutcome,
  detail?: string,
): Promise<DeliveryOutcome> {
  try {
    await ledger.insertOne({ ...entryFor(request), status: 'done', ...outcome, at: new Date(), ...(detail ? { detail } : {}) });
    return outcome;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const existing = await findLedgerEntry(ledger, request.idempotencyKey);
    return existing ? outcomeOf(existing) : outcome;
  }
}

/** Claims the send; returns the existing entry instead when another attempt got there first. */
export async function claimSend(
  ledger: Collection<LedgerDoc>,
  request: DeliveryRequest,
): Promise<{ claimed: true } | { claimed: false; existing: LedgerDoc | undefined }> {
  try {
    await ledger.insertOne({ ...entryFor(request), status: 'sending', delivered: false, reason: 'sending', at: new Date() });
    return { claimed: true };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return { claimed: false, existing: await findLedgerEntry(ledger, request.idempotencyKey) };
  }
}

export async function completeSend(
  ledger: Collection<LedgerDoc>,
  key: string,
  outcome: DeliveryOutcome,
  fields: { providerMessageId?: string; detail?: string },
): Promise<void> {
  await ledger.updateOne({ _id: key }, { $set: { status: 'done', ...outcome, ...fields, at: new Date() } });
}

/** Drops a claim whose provider call certainly did not send (a transient error), so the retry may. */
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
