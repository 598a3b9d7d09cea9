/**
 * Attribution across journeys on the real stack: an order that two journeys count as their goal is
 * credited once, shared by the messages of both journeys in the goal's window.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createJourneyActivities } from '../activities/journey-activities.js';
import { attributionReport } from '../reports/attribution-report.js';
import { journeyReport } from '../reports/journey-report.js';
import { waitUntil } from '../stack/wait-until.js';
import { journeyVersion } from '../workflows/journeys/index.js';
import { chooseVariant } from '../workflows/sdk/split.js';
import type { StepOf } from '../workflows/sdk/steps.js';
import { winBackV1Build } from './support/builds.js';
import { emailSentTo } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    journeys: winBackV1Build,
    journeySettings: {
      winBack: { attributionWindow: '1 hour' },
      cartAbandonment: { reminderDelay: '1s', orderWindow: '1 hour', retargetFor: '1 hour' },
    },
  });
});
afterAll(() => system?.close());

it('credits one order once, half to each journey’s email in its window', async () => {
  const split = journeyVersion('winBack', 1)!.steps[0] as StepOf<'split'>;
  let userId = '';
  while (chooseVariant(split.variants, `winBack:subject-test:${(userId = uniqueId('xj'))}`).name !== 'A');
  await system.identify(userId, { email: `${userId}@example.com`, first_name: 'Xia' });
  await system.track(userId, 'Customer Lapsed'); // win-back's email A at once
  await system.track(userId, 'Checkout Started', { cart_id: 'x1' }); // the cart reminder a second later
  await waitUntil(() => system.smtp.messagesTo(`${userId}@example.com`).length === 2, 20_000, 'both emails');
  await waitUntil(async () => (await system.settledReasons(userId, 2)).length === 2, 20_000, 'both sends settled');
  await system.track(userId, 'Order Completed', { order_id: 'x-1', revenue: 60 });

  // Each journey counts the order as its goal, and its credit covers both emails, each once: its own
  // from its steps (or from the ledger, when the order reached it before its email's result did),
  // the other journey's from the ledger.
  await waitUntil(async () => (await system.db.collections.conversions.countDocuments({ userId })) === 2, 20_000, 'both conversions');
  const conversions = await system.db.collections.conversions.find({ userId }).toArray();
  const touches = (c: (typeof conversions)[number]) =>
    [...c.attributedTo.map((stepId) => `${c.journeyId}/${stepId}`), ...(c.otherTouches ?? []).map((t) => `${t.journeyId}/${t.stepId}`)].sort();
  expect(conversions.map((c) => [c.journeyId, touches(c)]).sort()).toEqual([
    ['cartAbandonment', ['cartAbandonment/cart-reminder-email', 'winBack/winback-email-a']],
    ['winBack', ['cartAbandonment/cart-reminder-email', 'winBack/winback-email-a']],
  ]);

  // The rollup schedule runs every two seconds here. One order: one conversion credited, linear over two emails.
  await waitUntil(async () => (await attributionReport(system.db, { model: 'linear' })).conversions === 1, 20_000, 'the rollup');
  const report = await attributionReport(system.db, { model: 'linear' });
  expect(report).toMatchObject({ conversions: 1, revenue: 60, unattributed: 0 });
  expect(report.byJourney).toEqual([
    { key: 'cartAbandonment', conversions: 0.5, revenue: 30 },
    { key: 'winBack', conversions: 0.5, revenue: 30 },
  ]);
  expect(report.byTemplate.map((r) => r.key).sort()).toEqual(['cart-reminder', 'winback-a']);
  // Last touch: the cart reminder, sent after win-back's email.
  expect((await attributionReport(system.db, { model: 'last-touch' })).byJourney).toEqual([
    { key: 'cartAbandonment', conversions: 1, revenue: 60 },
    { key: 'winBack', conversions: 0, revenue: 0 },
  ]);
  // Both journeys' funnels still count the order as their goal.
  expect((await journeyReport(system.db, 'winBack')).goals[0]).toMatchObject({ conversions: 1, converters: 1 });
  expect((await journeyReport(system.db, 'cartAbandonment')).goals[0]).toMatchObject({ conversions: 1, converters: 1 });
});

it('credits the instance’s own send when the goal event is handled before the send’s result', async () => {
  // Temporal hands a workflow a signal before an activity's result when both arrive for the same
  // task: the order is seen while the email the ledger already has is not yet among the steps.
  const userId = uniqueId('race');
  expect((await emailSentTo(system.config, system.db, userId)).reason).toBe('sent');
  const now = Date.now();
  await createJourneyActivities(system.db).recordConversion({
    journeyId: 'cartAbandonment',
    version: 1,
    workflowId: `wf-${userId}`,
    userId,
    goal: 'ordered',
    event: { messageId: uniqueId('order'), event: 'Order Completed', userId, timestamp: new Date(now + 1_000).toISOString(), properties: { revenue: 10 } },
    windowStart: new Date(now - 3_600_000).toISOString(),
    steps: [{ stepId: 'entry', at: new Date(now - 60_000).toISOString(), outcome: 'entered' }],
    attributedTo: [],
  });
  const [conversion] = await system.db.collections.conversions.find({ userId }).toArray();
  expect(conversion!.otherTouches?.map((t) => `${t.journeyId}/${t.stepId}`)).toEqual(['cartAbandonment/cart-reminder-email']);
});
