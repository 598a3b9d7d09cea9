/**
 * The webhook channel: a journey step (the review journey's v2) calls a configured endpoint with a
 * templated JSON body, signed; 5xx is retried with the same webhook-id, 4xx fails for good, a slow
 * endpoint times out; the response status is on the ledger.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitUntil } from '../stack/wait-until.js';
import { mergeTraits } from '../store/profiles.js';
import { deliverer, deliveryRequest } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let system: TestSystem;
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver(`whsec_${randomBytes(24).toString('base64')}`);
  system = await startTestSystem({ env: { WEBHOOK_ENDPOINTS: JSON.stringify({ 'reviews-platform': { url: receiver.url, secret: receiver.secret } }) } });
});
afterAll(async () => {
  await system?.close();
  await receiver?.close();
});

async function deliveredOrder(orderId: string) {
  const userId = uniqueId('hook');
  await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com`, first_name: 'Wen' });
  await system.track(userId, 'Order Delivered', { order_id: orderId, delivered_at: '2026-01-05T09:00:00Z' });
  return { userId, handle: system.temporal.workflow.getHandle(`journey/postPurchaseReview/${userId}/${orderId}`) };
}

const callsFor = (orderId: string) => receiver.calls.filter((c) => (c.body as { order_id?: string }).order_id === orderId);

it('calls the endpoint with the rendered, signed body and records the status', async () => {
  const { userId, handle } = await deliveredOrder('W-1');
  expect(await handle.result()).toMatchObject({ status: 'completed' });
  expect(callsFor('W-1').map((c) => c.body)).toEqual([
    { type: 'review.requested', order_id: 'W-1', customer: { email: `${userId}@example.com`, first_name: 'Wen' }, journey: 'postPurchaseReview' },
  ]);
  const entry = await system.db.collections.ledger.findOne({ userId, stepId: 'notify-reviews-platform' });
  expect(entry).toMatchObject({ reason: 'sent', detail: 'HTTP 202', subject: 'webhook:reviews-platform' });
  expect(receiver.rejected).toBe(0);
});

it('retries a 5xx with the same webhook-id until it is taken', async () => {
  receiver.script(503, 500);
  const { userId, handle } = await deliveredOrder('W-2');
  await handle.result();
  const calls = callsFor('W-2');
  expect(calls.map((c) => c.status)).toEqual([503, 500, 202]);
  expect(new Set(calls.map((c) => c.id)).size).toBe(1);
  expect(await system.reasons(userId)).toEqual(['review-request-email:sent', 'notify-reviews-platform:sent']);
});

it('a 4xx fails the step for good, and the journey goes on', async () => {
  receiver.script(422);
  const { userId, handle } = await deliveredOrder('W-3');
  expect(await handle.result()).toMatchObject({ status: 'completed' });
  expect(callsFor('W-3')).toHaveLength(1);
  expect(await system.reasons(userId)).toEqual(['review-request-email:sent', 'notify-reviews-platform:failed:http-422']);
});

it('a slow endpoint times out, and the timeout is retried, not recorded as sent', async () => {
  const userId = uniqueId('slow');
  await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com` });
  const { deliver, close } = deliverer(system.config, system.db);
  receiver.delayMs = 1_000;
  try {
    const request = deliveryRequest(userId, { stepId: 'notify', channel: 'webhook', endpoint: 'reviews-platform', body: { order_id: 'W-4' }, timeoutMs: 200, category: 'transactional' } as never);
    await expect(deliver(request)).rejects.toThrow(/timeout|aborted/i);
    expect(await system.db.collections.ledger.findOne({ userId })).toBeNull();
    await waitUntil(() => callsFor('W-4').length === 1, 5_000, 'the slow call to arrive');
  } finally {
    receiver.delayMs = 0;
    await close();
  }
});
