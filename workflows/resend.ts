/**
 * An operator's resend of a send whose outcome was unknown (`unknown resolve <key> --resend`): the
 * same request through the whole delivery path again (policy, provider, ledger) under a key of its
 * own, waiting out a deferral (quiet hours) as a journey would.
 */
import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { DeliveryActivities } from '../activities/delivery-activities.js';
import { sendQueue } from './sdk/definitions.js';
import type { DeliveryOutcome, DeliveryRequest } from './sdk/types.js';

/** The workflow id of a key's resend: one per unknown outcome, however often an operator asks. */
export const resendWorkflowId = (key: string) => `resend/${key}`;

/** The ledger key of a resend's nth attempt (a deferral tries again under the next). */
export const resendKey = (key: string, occurrence: number) => `${key}/resend#${occurrence}`;

export async function resendUnknown(request: DeliveryRequest): Promise<DeliveryOutcome> {
  const { deliver } = proxyActivities<DeliveryActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
    taskQueue: sendQueue(workflowInfo().taskQueue, request.channel),
  });
  for (let occurrence = 1; ; occurrence++) {
    const outcome = await deliver({ ...request, idempotencyKey: resendKey(request.idempotencyKey, occurrence) });
    if (!outcome.deferUntil) return outcome;
    await sleep(Math.max(1_000, Date.parse(outcome.deferUntil) - Date.now()));
  }
}
