/**
 * The brief's experiment on the real stack: with JOURNEY_EXPERIMENTS=cart-orchestration, each
 * entrant gets either the orchestrated cart journey or email and SMS journeys that ignore each other,
 * by a stable hash; the report compares conversion, revenue, messages and unsubscribes per arm.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { journeyExperimentReport } from '../reports/journey-experiment-report.js';
import { waitUntil } from '../stack/wait-until.js';
import { armOf, journeyExperiments, mayEnter } from '../workflows/journeys/experiments.js';
import { runCli } from './support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const experiment = journeyExperiments.find((e) => e.id === 'cart-orchestration')!;

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    journeySettings: {
      cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1 hour' },
      cartEmailAlone: { reminderDelay: '1s', attributionWindow: '1 hour' },
      cartSmsAlone: { smsDelay: '2s', attributionWindow: '1 hour' },
    },
    env: { JOURNEY_EXPERIMENTS: 'cart-orchestration' },
  });
});
afterAll(() => system?.close());

let phone = 400;
async function customersIn(arm: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) {
    const userId = uniqueId(`x${i}`);
    if (armOf(experiment, userId).name !== arm) continue;
    await system.identify(userId, { email: `${userId}@example.com`, phone: `+1415555${String(phone++).padStart(4, '0')}`, consent: { sms: true } });
    ids.push(userId);
  }
  return ids;
}

it('runs only the first arm when the experiment is off', () => {
  expect(mayEnter('cartAbandonment', 'anyone', new Set())).toBe(true);
  expect(mayEnter('cartEmailAlone', 'anyone', new Set())).toBe(false);
  expect(mayEnter('browseAbandonment', 'anyone', new Set(['cart-orchestration']))).toBe(true);
});

it('gives each arm its journeys, and compares the arms', async () => {
  const orchestrated = await customersIn('orchestrated', 4);
  const independent = await customersIn('independent', 4);
  for (const userId of [...orchestrated, ...independent]) await system.track(userId, 'Checkout Started', { cart_id: 'c1' });

  const settled = (userId: string, count: number) => waitUntil(async () => (await system.reasons(userId)).filter((r) => r.endsWith(':sent')).length >= count, 30_000, `sends to ${userId}`);
  for (const userId of orchestrated) await settled(userId, 3); // email, SMS, audience
  for (const userId of independent) await settled(userId, 2); // email, SMS
  expect(await system.reasons(orchestrated[0]!)).toEqual(['cart-reminder-email:sent', 'cart-reminder-sms:sent', 'add-to-retargeting:sent']);
  expect((await system.reasons(independent[0]!)).sort()).toEqual(['cart-email:sent', 'cart-sms:sent']);

  // Two orchestrated customers and one independent one order; one independent one unsubscribes.
  await system.track(orchestrated[0]!, 'Order Completed', { order_id: 'o1', revenue: 100 });
  await system.track(orchestrated[1]!, 'Order Completed', { order_id: 'o2', revenue: 50 });
  await system.track(independent[0]!, 'Order Completed', { order_id: 'o3', revenue: 80 });
  expect((await system.admin('/admin/suppressions', { userId: independent[1], channel: 'email', reason: 'unsubscribe' })).status).toBe(201);

  let report = await journeyExperimentReport(system.db, 'cart-orchestration');
  await waitUntil(async () => {
    report = await journeyExperimentReport(system.db, 'cart-orchestration');
    return report.arms[0]!.converters === 2 && report.arms[1]!.converters === 1 && report.arms.every((a) => a.entrants === 4 && a.messages === 8);
  }, 30_000, 'the rollup');
  const [first, second] = report.arms;
  expect(first).toMatchObject({ arm: 'orchestrated', journeys: ['cartAbandonment'], entrants: 4, converters: 2, conversionRate: 0.5, revenue: 150, revenuePerCustomer: 37.5, messages: 8, messagesPerCustomer: 2, unsubscribes: 0, unsubscribeRate: 0 });
  expect(second).toMatchObject({ arm: 'independent', journeys: ['cartEmailAlone', 'cartSmsAlone'], entrants: 4, converters: 1, conversionRate: 0.25, revenue: 80, revenuePerCustomer: 20, messages: 8, messagesPerCustomer: 2, unsubscribes: 1, unsubscribeRate: 0.25, notEnoughData: true });

  const cli = await runCli(['report', 'journey-experiment', 'cart-orchestration'], system.env);
  expect(cli.stdout).toMatch(/independent \(50%\)\s+cartEmailAlone \+ cartSmsAlone\s+4\s+1\s+25\.0%/);
  const unknown = await fetch(`${system.httpUrl}/admin/reports/journey-experiments/nope`, { headers: { authorization: `Bearer ${system.adminToken}` } });
  expect(unknown.status).toBe(404);
});
