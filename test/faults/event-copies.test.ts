/**
 * Each event has one effect however many copies arrive: at once, after the journey it started has
 * ended, and after its claimer died half way (the recovery schedule finishes it, once).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { claimInboundEvents } from '../../store/inbound-events.js';
import { waitUntil } from '../../stack/wait-until.js';
import { journeyWorkflowId } from '../../workflows/sdk/definitions.js';
import { startTestSystem, uniqueId, type TestSystem } from '../support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' } },
  });
});
afterAll(() => system?.close());

async function customer() {
  const userId = uniqueId('copies');
  const email = `${userId}@example.com`;
  await system.identify(userId, { email });
  return { userId, email };
}

const checkout = (userId: string, messageId: string) => ({ userId, event: 'Checkout Started', properties: { cart_id: 'c-1' }, messageId, timestamp: new Date().toISOString() });

async function runsOf(userId: string): Promise<number> {
  let runs = 0;
  for await (const _ of system.temporal.workflow.list({ query: `WorkflowId = '${journeyWorkflowId('cartAbandonment', userId)}'` })) runs++;
  return runs;
}

/** The journey ran to its end (once it has started); then a little longer for any second effect to show. */
async function settled(userId: string, email: string) {
  const handle = system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId));
  await waitUntil(() => handle.describe().then(() => true, () => false), 30_000, 'the journey to start');
  await system.journeyResult(userId);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  return { runs: await runsOf(userId), emails: system.smtp.messagesTo(email).length };
}

it('100 concurrent copies of one event: one accepted, one journey, one email; a copy after the journey ended does nothing', async () => {
  const { userId, email } = await customer();
  const messageId = uniqueId('m');
  const responses = await Promise.all(Array.from({ length: 100 }, () => system.post('/v1/track', checkout(userId, messageId))));
  expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
  expect(responses.filter((r) => (r.body as { result: string }).result === 'accepted')).toHaveLength(1);
  expect(await settled(userId, email)).toEqual({ runs: 1, emails: 1 });

  const late = await system.post('/v1/track', checkout(userId, messageId));
  expect([late.status, late.body]).toEqual([200, { success: true, result: 'duplicate' }]);
  expect(await settled(userId, email)).toEqual({ runs: 1, emails: 1 });
});

it('a claim whose claimer died before acting is finished once by the recovery schedule, past one that cannot be; copies meanwhile do nothing', async () => {
  const { userId, email } = await customer();
  const messageId = uniqueId('m');
  // Property names a document field may not hold on every server: the claim keeps the event as JSON.
  const message = { type: 'track', ...checkout(userId, messageId), properties: { cart_id: 'c-1', 'utm.source': 'mail', $revenue: 49 } };
  // What a server killed right after its claim leaves behind, behind one no retry can act on (which
  // must hold up no other).
  const claim = (id: string, m: unknown) => claimInboundEvents(system.db.collections.inboundEvents, system.writeKey, [{ messageId: id, message: m }], { receivedAt: new Date(), forwarded: false });
  await claim(uniqueId('poison'), { type: 'teleport', userId });
  await claim(messageId, message);
  const copy = await system.post('/v1/track', checkout(userId, messageId));
  expect(copy.body).toEqual({ success: true, result: 'duplicate' });
  expect(await settled(userId, email)).toEqual({ runs: 1, emails: 1 });
});

it('a claim whose claimer died after starting the journey is not started again, even once the journey has ended', async () => {
  const { userId, email } = await customer();
  const messageId = uniqueId('m');
  expect((await system.post('/v1/track', checkout(userId, messageId))).body).toEqual({ success: true, result: 'accepted' });
  await system.journeyResult(userId);
  // As if the claimer had died before marking it processed (no done mark, its outbox mark still
  // open): the schedule finds it after the journey ended.
  const processed = { _id: `${system.writeKey}:${messageId}#processed` };
  await system.db.collections.inboundEvents.deleteOne(processed);
  await system.db.collections.inboundEvents.updateOne({ _id: `${system.writeKey}:${messageId}` }, { $set: { open: true } });
  await waitUntil(async () => (await system.db.collections.inboundEvents.countDocuments(processed)) === 1, 30_000, 'the recovery schedule to finish the claim');
  expect(await settled(userId, email)).toEqual({ runs: 1, emails: 1 });
});
