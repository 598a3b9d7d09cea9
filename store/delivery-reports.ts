/**
 * What providers said about a message after it went out: delivered (Twilio `delivered` or `read`),
 * or failed after sending (Twilio `undelivered` or `failed`, a bounce). Insert-only, one record per
 * send and kind (`<ledger key>/<kind>`), so a provider that repeats itself (Twilio retries its
 * callbacks) is counted once; the rollup folds them into each send step's funnel.
 */
import type { Collection } from 'mongodb';
import { insertNew } from './db.js';
import type { LedgerDoc } from './ledger.js';

export type DeliveryReportKind = 'delivered' | 'failed';

export interface DeliveryReportDoc {
  _id: string;
  ledgerKey: string;
  kind: DeliveryReportKind;
  /** The provider's own word: Twilio's MessageStatus, or `bounced`. */
  status: string;
  channel: LedgerDoc['channel'];
  userId: string;
  journeyId: string;
  version: number;
  stepId: string;
  at: Date;
  insertedAt: Date;
}

const KINDS: Record<string, DeliveryReportKind> = { delivered: 'delivered', read: 'delivered', undelivered: 'failed', failed: 'failed', bounced: 'failed' };

/** Records the report if the status is a final one the funnel counts (queued, sent and delayed are not). */
export async function recordDeliveryReport(reports: Collection<DeliveryReportDoc>, entry: LedgerDoc, status: string): Promise<void> {
  const kind = KINDS[status];
  // Sends by builds before versions were recorded cannot be placed in a version's funnel.
  if (!kind || entry.version === undefined) return;
  const now = new Date();
  await insertNew(reports, [
    { _id: `${entry._id}/${kind}`, ledgerKey: entry._id, kind, status, channel: entry.channel, userId: entry.userId, journeyId: entry.journeyId, version: entry.version, stepId: entry.stepId, at: now, insertedAt: now },
  ]);
}
