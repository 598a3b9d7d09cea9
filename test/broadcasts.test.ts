/**
 * Broadcasts on the dev server, in real time, through the control API the CLI uses: each member of
 * the segment gets one message through the delivery path, whatever is started again; pause holds
 * the sends, resume goes on, cancel stops and counts who was left; the throttle holds; a broadcast
 * into a journey enters each member once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { signalBroadcast, startBroadcast, statusOf } from '../broadcasts/control.js';
import { defineBroadcast } from '../broadcasts/sdk/broadcast.js';
import { broadcastWorkflowId, type BroadcastStatus } from '../broadcasts/sdk/run.js';
import type { AttributionReport } from '../reports/attribution-report.js';
import type { EngagementReport } from '../reports/engagement-report.js';
import type { JourneyReport } from '../reports/journey-report.js';
import { ledgerForUser } from '../store/ledger.js';
import { waitUntil } from '../stack/wait-until.js';
import { enterJourney } from '../broadcasts/journey-entry.js';
import { deploymentRouter } from '../events/router.js';
import { JOURNEY } from '../workflows/sdk/search-attributes.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { BROWSER, pixelOf } from './support/mail-client.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const flashSale = (throttle: number) =>
  defineBroadcast({
    id: 'flash-sale',
    description: 'a one-off to the newsletter segment',
    segment: 'newsletter',
    send: { channel: 'email', template: 'weekly-newsletter', category: 'promotions' },
    throttle: { perMinute: throttle },
    goals: [{ id: 'order', event: 'Order Completed', within: '2 days' }],
  });

let system: TestSystem;
beforeAll(async () => {
  // Its goals are recorded by the server's ingestion, which knows the build's broadcasts and this one.
  system = await startTestSystem({ broadcasts: [flashSale(600)] });
});
afterAll(() => system?.close());

/** Customers in the newsletter segment (consented to newsletter email, not VIP). */
async function subscribers(count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => uniqueId('reader'));
  for (const userId of ids) await system.identify(userId, { email: `${userId}@example.com`, consent: { categories: { newsletter: { email: true } } } });
  return ids;
}

const received = (userId: string) => system.smtp.messagesTo(`${userId}@example.com`).length;
const status = async (workflowId: string) => (await statusOf(system.temporal, workflowId))!;
const settled = (workflowId: string, state: BroadcastStatus['state']) => waitUntil(async () => (await status(workflowId)).state === state, 60_000, `broadcast ${state}`);

it('each member once through the delivery path; paused it holds, resumed it goes on; started again it sends nobody twice', async () => {
  const readers = await subscribers(30);
  const unsubscribed = (await subscribers(1))[0]!;
  await system.identify(unsubscribed, { consent: { categories: { newsletter: { email: false } } } });
  const definition = flashSale(600);
  const started = await startBroadcast(system.temporal, system.config, definition, 'first');
  const workflowId = broadcastWorkflowId('flash-sale', 'first');
  expect(started).toEqual({ workflowId, started: true });

  const sentSoFar = () => readers.reduce((n, r) => n + received(r), 0);
  await waitUntil(() => sentSoFar() >= 3, 30_000, 'the first sends');
  expect((await signalBroadcast(system.temporal, workflowId, 'pause')).state).toBe('paused');
  // The sends in flight finish; then nothing more.
  await sleep(1_500);
  const atPause = sentSoFar();
  await sleep(1_500);
  expect(sentSoFar()).toBe(atPause);
  expect(atPause).toBeLessThan(30);

  await signalBroadcast(system.temporal, workflowId, 'resume');
  await settled(workflowId, 'done');
  expect(readers.map(received)).toEqual(readers.map(() => 1));
  expect(received(unsubscribed)).toBe(0);
  const done = await status(workflowId);
  expect(done).toMatchObject({ state: 'done', recipients: 30, pending: 0, counts: { sent: 30 } });
  const [entry] = await ledgerForUser(system.db.collections.ledger, readers[0]!);
  expect(entry).toMatchObject({ journeyId: 'broadcast:flash-sale', stepId: 'first', reason: 'sent' });

  // Its results, as a journey step's: a person opens one (a mail client loading the pixel, past the
  // first seconds in which only machines open), and the report has the occurrence's sends and the open.
  const results = async () => {
    const answer = await fetch(`${system.httpUrl}/admin/reports/engagement?journey=broadcast:flash-sale`, { headers: { authorization: `Bearer ${system.adminToken}` } });
    expect(answer.status).toBe(200);
    return ((await answer.json()) as EngagementReport).steps;
  };
  const pixel = pixelOf(String(system.smtp.messagesTo(`${readers[0]}@example.com`)[0]!.html));
  expect(pixel).toBeDefined();
  await sleep(2_000);
  expect((await fetch(pixel!, { headers: { 'user-agent': BROWSER } })).status).toBe(200);
  await waitUntil(async () => (await results()).some((row) => row.opened === 1 && row.sent === 30), 30_000, 'the sends and the open in the report');
  expect(await results()).toEqual([
    expect.objectContaining({ journeyId: 'broadcast:flash-sale', stepId: 'first', sent: 30, opened: 1, openRate: 1 / 30, clicked: 0 }),
  ]);

  // Its goal: an order within two days of the message is the occurrence's conversion, credited to it
  // in the reports; her second order is a conversion, not a second converter; a copy of an order
  // counts once; an order from someone it did not send to is not its conversion.
  const [buyer] = readers;
  await system.track(buyer!, 'Order Completed', { revenue: 40 }, 'order-1');
  await system.track(buyer!, 'Order Completed', { revenue: 40 }, 'order-1');
  await system.track(buyer!, 'Order Completed', { revenue: 10 }, 'order-2');
  await system.track(unsubscribed, 'Order Completed', { revenue: 99 });
  const report = async <T,>(path: string) => (await (await fetch(`${system.httpUrl}${path}`, { headers: { authorization: `Bearer ${system.adminToken}` } })).json()) as T;
  const goals = async () => (await report<JourneyReport>('/admin/reports/journeys/broadcast:flash-sale')).goals;
  await waitUntil(async () => (await goals()).some((g) => g.conversions === 2), 30_000, 'the conversions in the report');
  expect(await goals()).toEqual([expect.objectContaining({ goal: 'order', conversions: 2, converters: 1, revenue: 50 })]);
  const credit = await report<AttributionReport>('/admin/reports/attribution?journey=broadcast:flash-sale&model=last-touch');
  expect(credit).toMatchObject({ conversions: 2, revenue: 50, unattributed: 0, byStep: [{ key: 'broadcast:flash-sale/first', conversions: 2, revenue: 50 }] });
  expect(await system.db.collections.conversions.countDocuments({ userId: unsubscribed })).toBe(0);

  // The command again: the occurrence that ran is found, not run again.
  const again = await startBroadcast(system.temporal, system.config, definition, 'first');
  expect(again).toMatchObject({ started: false, status: { state: 'done', counts: { sent: 30 } } });
  await sleep(1_000);
  expect(readers.map(received)).toEqual(readers.map(() => 1));
});

it('throttled to one a minute: one send, then the throttle holds the rest; a cancel ends it there and counts who was left', async () => {
  await subscribers(2);
  const workflowId = broadcastWorkflowId('flash-sale', 'one-a-minute');
  const before = system.smtp.messages.length;
  // The throttle's windows are the clock's minutes: a check that crossed into the next one would
  // rightly see its send too (CI saw 2 sent). So the test begins with 40 s of its minute left.
  const leftOfMinute = 60_000 - (Date.now() % 60_000);
  if (leftOfMinute < 40_000) await sleep(leftOfMinute + 100);
  await startBroadcast(system.temporal, system.config, flashSale(1), 'one-a-minute');
  await waitUntil(async () => (await status(workflowId)).counts.sent === 1, 30_000, 'the first send');
  await sleep(2_000);
  const held = await status(workflowId);
  // Every newsletter subscriber in this test's database: the first test's 30 and these 2.
  expect(held).toMatchObject({ state: 'sending', recipients: 32, pending: 31, counts: { sent: 1 } });
  await signalBroadcast(system.temporal, workflowId, 'cancel');
  await settled(workflowId, 'cancelled');
  expect(await status(workflowId)).toMatchObject({ state: 'cancelled', pending: 0, counts: { sent: 1, cancelled: 31 } });
  expect(system.smtp.messages.length - before).toBe(1);
});

it('into a journey: each member enters once, the journey sends; started again or handed over again, nobody enters twice', async () => {
  const readers = await subscribers(4);
  const summer = defineBroadcast({ id: 'summer-sale', description: 'the summer sale, now', segment: 'newsletter', send: { journey: 'summerSale' } });
  const workflowId = broadcastWorkflowId('summer-sale', 'now');
  const startedAt = new Date();
  await startBroadcast(system.temporal, system.config, summer, 'now');
  await settled(workflowId, 'done');
  // Every newsletter member of this file's database: the earlier tests' 32 and these 4.
  expect(await status(workflowId)).toMatchObject({ state: 'done', recipients: 36, pending: 0, counts: { entered: 36 } });
  const announcements = (userId: string) => system.smtp.messagesTo(`${userId}@example.com`).filter((m) => m.subject === 'The summer sale starts now').length;
  await waitUntil(() => readers.every((r) => announcements(r) === 1), 30_000, 'the journey’s announcement to each');
  const instances = () => system.temporal.workflow.count(`TaskQueue = '${system.config.TEMPORAL_TASK_QUEUE}' AND ${JOURNEY.name} = 'summerSale'`);
  expect((await instances()).count).toBe(36);

  // One of them orders: her run ends there (the journey exits on Order Completed).
  const ordered = journeyWorkflowId('summerSale', readers[0]!);
  await system.post('/v1/track', { userId: readers[0], event: 'Order Completed', properties: { order_id: uniqueId('o') }, messageId: uniqueId('m') });
  await waitUntil(async () => (await system.temporal.workflow.getHandle(ordered).describe()).status.name === 'COMPLETED', 30_000, 'her run ended');
  // A batch handed over again, as after a worker's death, with its first attempt's time: nobody
  // enters again, she whose run has ended neither; and without it, the running instances take the event once.
  const router = deploymentRouter(system.temporal, system.db, system.config);
  const batch = { run: workflowId, broadcast: 'summer-sale', occurrence: 'now', journey: 'summerSale', segmentKey: 'newsletter@1', at: startedAt.toISOString(), attempt: 1, userIds: readers };
  expect(await enterJourney(system.db, router, batch, 4, startedAt)).toEqual(readers.map(() => ({ delivered: true, reason: 'entered' })));
  expect(await enterJourney(system.db, router, { ...batch, userIds: readers.slice(1) }, 4)).toEqual(readers.slice(1).map(() => ({ delivered: true, reason: 'entered' })));
  await sleep(2_000);
  expect(readers.map(announcements)).toEqual(readers.map(() => 1));
  expect((await instances()).count).toBe(36);
  expect((await system.temporal.workflow.getHandle(ordered).describe()).status.name).toBe('COMPLETED');
  expect(await startBroadcast(system.temporal, system.config, summer, 'now')).toMatchObject({ started: false, status: { counts: { entered: 36 } } });

  // Nobody outside can start it: the event name is the engine's own.
  const spoof = await system.post('/v1/track', { userId: readers[0], event: 'broadcast:summer-sale', properties: {}, messageId: uniqueId('m') });
  expect(spoof.status).toBe(400);
  expect(JSON.stringify(spoof.body)).toContain("broadcasts' entries into journeys, which only the engine sends");
});
