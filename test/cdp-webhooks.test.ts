/** Events forwarded by CDP webhook destinations: Segment's signed Webhooks (Actions) and RudderStack's. */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.close());

async function postRaw(path: string, body: string, headers: Record<string, string>) {
  const response = await fetch(new URL(path, system.httpUrl), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const segmentSignature = (body: string) => createHmac('sha1', system.config.SEGMENT_WEBHOOK_SECRET!).update(body).digest('hex');

/** As a CDP forwards it: timestamp already skew-corrected, with the CDP's own fields around it. */
function forwarded(userId: string, event: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'track', event, userId, messageId: uniqueId('m'), properties: { cart_id: 'c-1' },
    timestamp: new Date().toISOString(), originalTimestamp: '2030-01-01T00:00:00.000Z', sentAt: '2030-01-01T00:00:01.000Z',
    receivedAt: new Date().toISOString(), context: { library: { name: 'analytics.js' } }, ...extra,
  };
}

it('Segment Webhooks (Actions): a correctly signed event starts the journey, a tampered one is refused', async () => {
  const userId = uniqueId('seg');
  const body = JSON.stringify(forwarded(userId, 'Checkout Started'));
  expect((await postRaw('/webhooks/segment', body, { 'x-signature': segmentSignature(body) })).status).toBe(200);
  await system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId)).describe();

  const other = uniqueId('seg');
  const tampered = JSON.stringify(forwarded(other, 'Checkout Started'));
  expect((await postRaw('/webhooks/segment', tampered, { 'x-signature': segmentSignature(body) })).status).toBe(401);
  expect((await postRaw('/webhooks/segment', tampered, {})).status).toBe(401);
  expect(await system.db.collections.inboundEvents.countDocuments({ _id: { $regex: other } })).toBe(0);
});

it('Segment Webhooks (Actions) in batch mode: an array, deduplicated by messageId, bad items named by index', async () => {
  const userId = uniqueId('seg');
  const identify = { type: 'identify', userId, messageId: uniqueId('m'), traits: { email: `${userId}@example.com` }, timestamp: new Date().toISOString() };
  const body = JSON.stringify([identify, identify, { type: 'track', userId }]);
  const response = await postRaw('/webhooks/segment', body, { 'x-signature': segmentSignature(body) });
  expect(response).toMatchObject({ status: 200, body: { results: ['accepted', 'duplicate', 'rejected'], rejected: [{ index: 2, problems: [{ field: '2.event' }] }] } });
});

it('RudderStack webhook: the bearer secret is required, and RudderStack-shaped events are taken as they come', async () => {
  const userId = uniqueId('rs');
  const event = JSON.stringify(forwarded(userId, 'Checkout Started', { rudderId: uniqueId('r'), channel: 'web', request_ip: '10.0.0.1' }));
  expect((await postRaw('/webhooks/rudderstack', event, { authorization: 'Bearer wrong-secret-wrong-secret' })).status).toBe(401);
  const ok = await postRaw('/webhooks/rudderstack', event, { authorization: `Bearer ${system.config.RUDDERSTACK_WEBHOOK_SECRET}` });
  expect(ok).toMatchObject({ status: 200, body: { results: ['accepted'] } });
  await system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId)).describe();
  // Redelivered by RudderStack: one effect. The same messageId from another source is that source's own.
  const again = await postRaw('/webhooks/rudderstack', event, { authorization: `Bearer ${system.config.RUDDERSTACK_WEBHOOK_SECRET}` });
  expect(again.body).toMatchObject({ results: ['duplicate'] });
  const otherSource = await system.post('/v1/track', JSON.parse(event));
  expect(otherSource.body).toMatchObject({ result: 'accepted' });
});
