/**
 * What no journey may send, on the real stack: the global control group (GLOBAL_CONTROL_PERCENT) gets
 * no marketing at all, and its report compares everyone else against it; holds (HOLD_RULES) defer
 * promotional messages while a support ticket is open and drop them just after a purchase, whatever
 * order the events arrive in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalControlReport } from '../reports/global-control-report.js';
import { waitUntil } from '../stack/wait-until.js';
import { inGlobalControl } from '../workflows/sdk/split.js';
import { runCli } from './support/cli.js';
import { deliverer } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const CONTROL_PERCENT = 10;
const HOLD_RULES = [
  { name: 'open-ticket', on: 'Ticket Opened', endOn: 'Ticket Resolved', for: '5s' },
  { name: 'just-bought', on: 'Order Completed', for: '1h', action: 'drop' },
];

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1 hour' }, browseAbandonment: { browseWindow: '1s' } },
    env: { GLOBAL_CONTROL_PERCENT: String(CONTROL_PERCENT), HOLD_RULES: JSON.stringify(HOLD_RULES) },
  });
});
afterAll(() => system?.close());

/** `count` new customer ids in (or out of) the control group, found the way the policy assigns them. */
function ids(count: number, control: boolean): string[] {
  const found: string[] = [];
  for (let i = 0; found.length < count; i++) {
    const id = uniqueId(`gc${i}`);
    if (inGlobalControl(id, CONTROL_PERCENT) === control) found.push(id);
  }
  return found;
}

describe('the global control group', () => {
  it('measures everyone else against the control for any event', async () => {
    // First in this file, so these are the system's only customers.
    const [control, rest] = [ids(20, true), ids(80, false)];
    const identifies = [...control, ...rest].map((userId) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com` }, messageId: uniqueId('m') }));
    const orders = [...control.slice(0, 6), ...rest.slice(0, 40)].map((userId) => ({ type: 'track', userId, event: 'Order Completed', properties: {}, messageId: uniqueId('m') }));
    expect((await system.post('/v1/batch', { batch: identifies })).status).toBe(200);
    expect((await system.post('/v1/batch', { batch: orders })).status).toBe(200);

    const report = await globalControlReport(system.db, { event: 'Order Completed', controlPercent: CONTROL_PERCENT });
    expect(report.control).toMatchObject({ customers: 20, converters: 6, rate: 0.3 });
    expect(report.everyoneElse).toMatchObject({ customers: 80, converters: 40, rate: 0.5 });
    // 40/80 against 6/20: +20 points, +66.7%, pooled z-test p = 0.1085.
    expect(report.comparison!.absoluteLift).toBeCloseTo(0.2, 10);
    expect(report.comparison!.relativeLift).toBeCloseTo(2 / 3, 10);
    expect(report.comparison!.pValue).toBeCloseTo(0.108462, 5);
    const none = await globalControlReport(system.db, { event: 'Product Returned', controlPercent: CONTROL_PERCENT });
    expect(none).toMatchObject({ notEnoughData: true, control: { converters: 0 } });

    const response = await fetch(`${system.httpUrl}/admin/reports/global-control?event=Order%20Completed`, { headers: { authorization: `Bearer ${system.adminToken}` } });
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(report)));
    expect((await fetch(`${system.httpUrl}/admin/reports/global-control`, { headers: { authorization: `Bearer ${system.adminToken}` } })).status).toBe(400);
    const cli = await runCli(['report', 'global-control', '--event', 'Order Completed'], system.env);
    expect(cli.stdout).toMatch(/control\s+20\s+6\s+30\.0%/);
    expect(cli.stdout).toContain('lift 20.00 pts');
  });

  it('sends a control customer no marketing from any journey, says why, and still sends transactional mail', async () => {
    const [inControl] = ids(1, true);
    const [outside] = ids(1, false);
    for (const userId of [inControl!, outside!]) {
      await system.identify(userId, { email: `${userId}@example.com`, phone: '+14155550150', consent: { sms: true } });
      await system.track(userId, 'Checkout Started', { cart_id: 'c1' });
    }
    // All three steps decided, none still a claim being sent (the audience step's 'sending').
    for (const userId of [inControl!, outside!]) await system.settledReasons(userId, 3);
    expect(await system.reasons(inControl!)).toEqual(['cart-reminder-email:held:global-control', 'cart-reminder-sms:held:global-control', 'add-to-retargeting:held:global-control']);
    expect(await system.reasons(outside!)).toEqual(['cart-reminder-email:sent', 'cart-reminder-sms:sent', 'add-to-retargeting:sent']);
    const { stdout } = await runCli(['explain', '--user', inControl!], system.env);
    expect(stdout).toContain('held:global-control');

    const { deliver, close } = deliverer(system.config, system.db);
    try {
      const receipt = { channel: 'email' as const, template: 'cart-reminder', category: 'transactional', journeyId: 'receipts', stepId: 'receipt', workflowId: `wf-${inControl}`, userId: inControl!, data: {}, firstAttemptAt: new Date().toISOString() };
      expect(await deliver({ ...receipt, idempotencyKey: `receipt-${inControl}` })).toMatchObject({ reason: 'sent' });
    } finally {
      await close();
    }
  });
});

describe('holds', () => {
  const customer = async () => {
    const [userId] = ids(1, false);
    await system.identify(userId!, { email: `${userId}@example.com` });
    return userId!;
  };
  const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
  const track = (userId: string, event: string, timestamp: string, messageId = uniqueId('m')) => system.post('/v1/track', { userId, event, properties: { cart_id: 'c1', name: 'Lamp' }, timestamp, messageId });

  it('defers promotions while a ticket is open and sends them once it is resolved', async () => {
    const userId = await customer();
    // The same ticket event three times at once: one hold.
    const opened = uniqueId('ticket');
    await Promise.all([1, 2, 3].map(() => track(userId, 'Ticket Opened', at(0), opened)));
    expect(await system.db.collections.holds.countDocuments({ userId, kind: 'hold' })).toBe(1);
    await track(userId, 'Checkout Started', at(0));
    await waitUntil(async () => (await system.reasons(userId)).some((r) => r.startsWith('cart-reminder-email:deferred:held:open-ticket until ')), 20_000, 'the deferral');
    await track(userId, 'Ticket Resolved', at(0));
    await waitUntil(async () => (await system.reasons(userId)).includes('cart-reminder-email:sent'), 30_000, 'the email once the ticket is resolved');
    expect(await system.reasons(userId)).toEqual([expect.stringMatching(/^cart-reminder-email:deferred:held:open-ticket until /), 'cart-reminder-email:sent']);
  });

  it('takes a resolution that arrived before its ticket as ending it', async () => {
    const userId = await customer();
    await track(userId, 'Ticket Resolved', at(-1_000));
    await track(userId, 'Ticket Opened', at(-2_000));
    await track(userId, 'Checkout Started', at(0));
    await waitUntil(async () => (await system.reasons(userId)).includes('cart-reminder-email:sent'), 20_000, 'the email');
    expect((await system.reasons(userId))[0]).toBe('cart-reminder-email:sent');
  });

  it('drops promotions just after a purchase', async () => {
    const userId = await customer();
    await track(userId, 'Order Completed', at(0));
    await track(userId, 'Product Viewed', at(0));
    await waitUntil(async () => (await system.reasons(userId)).length > 0, 20_000, 'the browse reminder decision');
    expect(await system.reasons(userId)).toEqual(['browse-reminder-email:held:just-bought']);
  });
});
