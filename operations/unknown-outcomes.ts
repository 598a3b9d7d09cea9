/**
 * The operator's queue of sends whose outcome is unknown (an attempt died, or the provider's answer
 * was lost, after the provider may have had the message). Nothing resends them by itself: an
 * operator settles each as sent, or has it sent again through the whole delivery path.
 */
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { findLedgerEntry, resolveUnknown, UNKNOWN_OUTCOME, unresolvedUnknowns, type LedgerDoc } from '../store/ledger.js';
import type { Database } from '../store/db.js';
import { resendKey, resendWorkflowId } from '../workflows/resend.js';
import type { DeliveryRequest } from '../workflows/sdk/types.js';

export function formatUnknowns(entries: LedgerDoc[]): string {
  if (!entries.length) return 'no unknown outcomes to settle';
  const lines = entries.map((e) => `${e.at.toISOString()}  ${e._id}  ${e.userId}  ${e.channel} ${e.subject}  ${e.detail ?? ''}`);
  return [...lines, `${entries.length} unknown outcome(s): settle each with "unknown resolve <key> --sent" or "--resend"`].join('\n');
}

export const listUnknowns = (db: Database, userId?: string) => unresolvedUnknowns(db.collections.ledger, userId);

/** Settles one unknown outcome; with 'resend', starts its one resend workflow first. */
export async function settleUnknown(deps: { db: Database; temporal: Client; taskQueue: string }, key: string, as: 'sent' | 'resend', by: string): Promise<string> {
  const entry = await findLedgerEntry(deps.db.collections.ledger, key);
  if (!entry || entry.reason !== UNKNOWN_OUTCOME || entry.resolution) throw new Error(`${key} is not an unsettled unknown outcome`);
  if (as === 'sent') {
    // Another operator may have settled it since the read above.
    if (!(await resolveUnknown(deps.db.collections.ledger, key, { as, at: new Date(), by }))) throw new Error(`${key} was settled meanwhile`);
    return `${key}: recorded as sent`;
  }
  if (!entry.request) throw new Error(`${key} was recorded without its request, so it cannot be sent again from here`);
  const workflowId = resendWorkflowId(key);
  // One resend per key: a second resolve finds this workflow and sends nothing more.
  await deps.temporal.workflow.start('resendUnknown', {
    workflowId,
    taskQueue: deps.taskQueue,
    args: [JSON.parse(entry.request) as DeliveryRequest],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  });
  await resolveUnknown(deps.db.collections.ledger, key, { as, at: new Date(), by, resendKey: resendKey(key, 1) });
  return `${key}: resend started (workflow ${workflowId}); "explain" shows its outcome`;
}
