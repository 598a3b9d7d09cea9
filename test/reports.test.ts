/**
 * The reports, against figures worked out by hand: journeys run for weeks of simulated time on the
 * time-skipping server (win-back's A/B/holdout split, cart abandonment's email, SMS and retargeting),
 * and, for the statistics at a useful sample size, step records and conversions seeded straight into
 * the rollup's inputs. Every figure comes through the rollup, as in production.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { attributionReport } from '../reports/attribution-report.js';
import type { AttributionModel } from '../reports/attribution.js';
import { engagementReport } from '../reports/engagement-report.js';
import { experimentReport } from '../reports/experiment-report.js';
import { journeyReport } from '../reports/journey-report.js';
import { foldIntoRollups, type RollupOptions } from '../reports/rollup.js';
import { waitUntil } from '../stack/wait-until.js';
import { openDatabase, type Database } from '../store/db.js';
import { journeyVersion } from '../workflows/journeys/index.js';
import { chooseVariant } from '../workflows/sdk/split.js';
import type { StepOf } from '../workflows/sdk/steps.js';
import { winBackV1Build } from './support/builds.js';
import { runCli } from './support/cli.js';
import { onceAt, withStoreFault } from './support/faulty-database.js';
import { dsn, postBounce, postTwilioStatus } from './support/provider-reports.js';
import { startJourneyTester, type JourneyTester, type TestCustomer } from './support/journey-tester.js';
import { uniqueId } from './support/system.js';

const DAY = 86_400_000;
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
// Small batches, so a run folds several and the cursor moves between them.
const ROLLUP: RollupOptions = { lagMs: 0, batchSize: 7, halfLifeMs: 7 * DAY };

let tester: JourneyTester;
beforeAll(async () => {
  tester = await startJourneyTester();
});
afterAll(() => tester?.close());

/** Customer ids that land in each arm of win-back's subject test, found the way the journey assigns them. */
function idsForArms(counts: Record<string, number>): Record<string, string[]> {
  const test = journeyVersion('winBack', 1)!.steps[0] as StepOf<'split'>;
  const found: Record<string, string[]> = Object.fromEntries(Object.keys(counts).map((arm) => [arm, []]));
  for (let i = 0; Object.entries(counts).some(([arm, n]) => found[arm]!.length < n); i++) {
    const userId = uniqueId(`lapsed-${i}`);
    const arm = chooseVariant(test.variants, `winBack:subject-test:${userId}`).name;
    if (found[arm]!.length < counts[arm]!) found[arm]!.push(userId);
  }
  return found;
}

describe('journeys run for weeks, then reported', () => {
  it('reports win-back: funnel, conversions with time to convert, the split and its attribution', async () => {
    const ids = idsForArms({ A: 3, B: 3, holdout: 2 });
    const customers: Record<string, TestCustomer[]> = {};
    for (const [arm, list] of Object.entries(ids)) customers[arm] = await Promise.all(list.map((id) => tester.customer({ first_name: 'Pat' }, id)));
    const all = Object.values(customers).flat();
    for (const c of all) await c.track('Customer Lapsed', { days_since_order: 95 }, winBackV1Build);
    for (const c of [...customers.A!, ...customers.B!]) await c.waitForEmails(1);

    await tester.advance('1 day');
    await customers.A![0]!.track('Order Completed', { order_id: 'a0', revenue: 50 });
    await customers.B![0]!.track('Order Completed', { order_id: 'b0', value: 20 });
    await tester.advance('1 day');
    await customers.A![1]!.track('Order Completed', { order_id: 'a1', revenue: 30 });
    await customers.holdout![0]!.track('Order Completed', { order_id: 'h0', revenue: 10 });
    for (const c of all) await c.result('winBack'); // the rest wait out their 14 days

    await foldIntoRollups(tester.system.db, ROLLUP);
    const report = await journeyReport(tester.system.db, 'winBack');
    expect(report).toMatchObject({ versions: [1], entered: 8, completed: 4, exited: { 'Order Completed': 4 }, completionRate: 0.5 });
    expect(report.steps).toEqual([
      { stepId: 'subject-test', kind: 'split', reached: 8, outcomes: { 'variant:A': 3, 'variant:B': 3, 'variant:holdout': 2 } },
      { stepId: 'winback-email-a', kind: 'send', channel: 'email', subject: 'winback-a', reached: 3, outcomes: { sent: 3 } },
      { stepId: 'winback-email-b', kind: 'send', channel: 'email', subject: 'winback-b', reached: 3, outcomes: { sent: 3 } },
      // The four who returned did so in the window: they reached it, and left there.
      { stepId: 'attribution-window', kind: 'wait', reached: 8, outcomes: { waited: 4, 'exited-here': 4 } },
    ]);
    expect(report.goals).toHaveLength(1);
    const [returned] = report.goals;
    expect(returned).toMatchObject({ goal: 'returned', conversions: 4, converters: 4, conversionRate: 0.5, revenue: 110 });
    // Two returned after one day, two after two: the median is a day and a half (to the minute).
    expect(Math.abs(returned!.medianSecondsToConvert! - 1.5 * 86_400)).toBeLessThan(60);

    const experiment = await experimentReport(tester.system.db, 'winBack');
    expect(experiment.splits).toHaveLength(1);
    const [split] = experiment.splits;
    expect(split).toMatchObject({ stepId: 'subject-test', goal: 'returned', control: 'holdout' });
    expect(split!.arms.map((a) => [a.arm, a.entrants, a.converters, a.control, a.notEnoughData ?? false])).toEqual([
      ['A', 3, 2, false, true],
      ['B', 3, 1, false, true],
      ['holdout', 2, 1, true, false],
    ]);
    expect(split!.arms[0]!.interval.low).toBeCloseTo(0.20766, 4); // Wilson, 2 of 3
    expect(split!.arms[0]!.interval.high).toBeCloseTo(0.93851, 4);
    // 3/3/2 against 45/45/10 of 8: chi-square 0.2 + 0.2 + 1.8 = 2, p = e^-1.
    expect(split!.sampleRatio.chiSquare).toBeCloseTo(2, 10);
    expect(split!.sampleRatio.pValue).toBeCloseTo(Math.exp(-1), 6);
    expect(split!.sampleRatio.mismatch).toBe(false);

    // One email per converter in the window: every model gives it the whole conversion.
    for (const model of ['last-touch', 'linear', 'time-decay'] as const) {
      const credit = await attributionReport(tester.system.db, { model, journeyId: 'winBack' });
      // The holdout's return (10) has no message to credit: counted apart, its revenue credited to none.
      expect(credit).toMatchObject({ conversions: 4, revenue: 100, unattributed: 1 });
      expect(credit.byChannel).toEqual([{ key: 'email', conversions: 3, revenue: 100 }]);
      expect(credit.byTemplate).toEqual([
        { key: 'winback-a', conversions: 2, revenue: 80 },
        { key: 'winback-b', conversions: 1, revenue: 20 },
      ]);
    }
  });

  it('reports four cart abandoners as a marketer counts them: every step reached, touches that are exposures, delivery as providers report it', async () => {
    // Worked by hand. Four checkouts at 0 h; the reminder email at 1 h, the SMS and the audience at
    // 25 h (no click on the email), the audience left after 7 more days.
    //   early:  orders (20) at 0.5 h, before any message: no touch to credit
    //   emailed: opens the email, orders (40) at 3.5 h, while waiting for a click or the day to pass
    //   texted: orders (60) at 30.5 h, in the retargeting week: touched by the email and the SMS;
    //           its SMS is reported delivered (twice: counted once)
    //   never:  never orders; its email bounces (5.1.1), its SMS is reported undelivered
    const phone = (n: number) => `+1415555${String(n).padStart(4, '0')}`;
    const [early, emailed, texted, never] = await Promise.all(
      [1, 2, 3, 4].map((n) => tester.customer({ phone: phone(n), consent: { sms: true }, first_name: 'Pat' })),
    );
    const { system } = tester;
    for (const c of [early, emailed, texted, never]) await c!.track('Checkout Started', { cart_id: `cart-${c!.userId}`, value: 60 });
    await tester.advance('30 minutes');
    await early!.track('Order Completed', { order_id: 'o-early', revenue: 20 });
    await tester.advance('1 hour');
    for (const c of [emailed, texted, never]) await c!.waitForEmails(1);

    const mailOf = (c: TestCustomer) => system.smtp.messagesTo(c.email)[0]!;
    await sleep(2_000); // a person opens a message later than a mail client's prefetch does
    const pixel = /<img src="([^"]*\/t\/o\/[^"]*)"/.exec(String(mailOf(emailed!).html))![1]!;
    expect((await fetch(pixel, { headers: { 'user-agent': BROWSER } })).status).toBe(200);
    const bounce = await postBounce(system, dsn(mailOf(never!).envelopeFrom, never!.email, '5.1.1', mailOf(never!).messageId!));
    expect(await bounce.json()).toMatchObject({ matched: true, permanent: true });

    await tester.advance('2 hours');
    await emailed!.track('Order Completed', { order_id: 'o-emailed', revenue: 40 });
    await tester.advance('22 hours');
    const smsTo = (c: TestCustomer, n: number) => system.twilio.messages.find((m) => m.to === phone(n));
    await waitUntil(async () => smsTo(texted!, 3) !== undefined && smsTo(never!, 4) !== undefined, 30_000, 'the two SMS');
    for (const [n, status] of [[3, 'sent'], [3, 'delivered'], [3, 'delivered'], [4, 'undelivered']] as const) {
      const sid = system.twilio.messages.find((m) => m.to === phone(n))!.sid;
      expect((await postTwilioStatus(system, { MessageSid: sid, MessageStatus: status, To: phone(n), ...(status === 'undelivered' ? { ErrorCode: '30003' } : {}) })).status).toBe(204);
    }
    await tester.advance('5 hours');
    await texted!.track('Order Completed', { order_id: 'o-texted', revenue: 60 });
    for (const c of [early, emailed, texted, never]) await c!.result('cartAbandonment');

    await foldIntoRollups(system.db, ROLLUP);
    const funnel = await journeyReport(system.db, 'cartAbandonment');
    expect(funnel).toMatchObject({ versions: [2], entered: 4, completed: 1, completionRate: 0.25, exited: { 'Order Completed': 3 } });
    expect(funnel.steps).toEqual([
      { stepId: 'wait-before-reminder', kind: 'wait', reached: 4, outcomes: { waited: 3, 'exited-here': 1 } },
      {
        stepId: 'cart-reminder-email', kind: 'send', channel: 'email', subject: 'cart-reminder', reached: 3, outcomes: { sent: 3 },
        delivery: { failed: 1 }, engagement: { opened: 1, opens: 1 },
      },
      { stepId: 'wait-for-order', kind: 'waitForEvent', reached: 3, outcomes: { 'timed-out': 2, 'exited-here': 1 } },
      { stepId: 'cart-reminder-sms', kind: 'send', channel: 'sms', subject: 'cart-reminder-sms', reached: 2, outcomes: { sent: 2 }, delivery: { delivered: 1, failed: 1 } },
      { stepId: 'add-to-retargeting', kind: 'audience', channel: 'audience', subject: 'cart-abandoners', reached: 2, outcomes: { sent: 2 } },
      { stepId: 'retargeting-window', kind: 'wait', reached: 2, outcomes: { waited: 1, 'exited-here': 1 } },
      { stepId: 'retargeting-ended', kind: 'audience', channel: 'audience', subject: 'cart-abandoners', reached: 1, outcomes: { sent: 1 } },
      { stepId: 'exit:leave:cart-abandoners', kind: 'audience', channel: 'audience', subject: 'cart-abandoners', reached: 1, outcomes: { sent: 1 } },
    ]);
    expect(funnel.goals).toEqual([
      { goal: 'ordered', conversions: 3, converters: 3, conversionRate: 0.75, revenue: 120, medianSecondsToConvert: expect.closeTo(3.5 * 3_600, -2) },
    ]);

    // Credit goes to exposures only: the email (1 h) and the SMS (25 h); the audience is no touch.
    // The early order had none (unattributed, its 20 credited to no message).
    const credit = async (model: AttributionModel) => {
      const report = await attributionReport(system.db, { model, journeyId: 'cartAbandonment' });
      expect(report).toMatchObject({ conversions: 3, revenue: 100, unattributed: 1, touches: expect.stringContaining('audience membership is not a touch') });
      expect(report.byChannel.map((r) => r.key).sort()).toEqual(['email', 'sms']);
      return Object.fromEntries(report.byChannel.map((row) => [row.key, [row.conversions, row.revenue]]));
    };
    expect(await credit('last-touch')).toEqual({ email: [1, 40], sms: [1, 60] });
    expect(await credit('first-touch')).toEqual({ email: [2, 100], sms: [0, 0] });
    // Two touches: linear and position-based (40/40/20 needs three) both halve the texted order.
    for (const model of ['linear', 'position-based'] as const) expect(await credit(model)).toEqual({ email: [1.5, 70], sms: [0.5, 30] });
    // Time decay, half-life 7 days (168 h), for the texted order at 30.5 h: the email 29.5 h before
    // it, the SMS 5.5 h before it.
    const [e, s] = [2 ** (-29.5 / 168), 2 ** (-5.5 / 168)];
    const decay = await credit('time-decay');
    expect(decay.email![0]).toBeCloseTo(1 + e / (e + s), 2);
    expect(decay.sms![1]).toBeCloseTo((60 * s) / (e + s), 0);

    const engagement = await engagementReport(system.db, { journeyId: 'cartAbandonment' });
    expect(engagement.steps).toEqual([
      {
        journeyId: 'cartAbandonment', stepId: 'cart-reminder-email', channel: 'email', template: 'cart-reminder',
        sent: 3, opened: 1, clicked: 0, openRate: 1 / 3, clickRate: 0, opens: 1, clicks: 0, machineOpens: 0, machineClicks: 0,
      },
    ]);
  });

  it('counts audience membership as a touch only when told to, and says so', async () => {
    // The same conversions, folded again into a fresh copy of their inputs with the setting on.
    const db = tester.system.db;
    const copy = await openDatabase(tester.system.config.MONGODB_URL, uniqueId('audiences').replace('-', '_'));
    try {
      const conversions = await db.collections.conversions.find({ journeyId: 'cartAbandonment' }).toArray();
      await copy.collections.conversions.insertMany(conversions);
      await foldIntoRollups(copy, { ...ROLLUP, countAudiences: true });
      const report = await attributionReport(copy, { model: 'last-touch', journeyId: 'cartAbandonment' });
      expect(report.touches).toContain('retargeting audience membership (ATTRIBUTION_COUNTS_AUDIENCES) for every conversion');
      // The texted order's last exposure is now the audience add, a moment after the SMS.
      expect(Object.fromEntries(report.byChannel.map((row) => [row.key, row.revenue]))).toEqual({ email: 40, audience: 60, sms: 0 });
    } finally {
      await copy.db.dropDatabase();
      await copy.close();
    }
  });
});

describe('the statistics at a useful sample size, from seeded records', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase(tester.system.config.MONGODB_URL, uniqueId('seeded').replace('-', '_'));
  });
  afterAll(async () => {
    await db?.db.dropDatabase();
    await db?.close();
  });

  /** One day of win-back: entrants and converters per arm, written as the journeys and goals would. */
  async function seedDay(day: string, arms: Record<string, { entrants: number; converters: number }>) {
    const at = new Date(`${day}T09:00:00Z`);
    const progress = [];
    const conversions = [];
    for (const [arm, { entrants, converters }] of Object.entries(arms)) {
      for (let i = 0; i < entrants; i++) {
        const workflowId = `journey/winBack/${day}-${arm}-${i}`;
        const base = { journeyId: 'winBack', version: 1, workflowId, runId: 'r', userId: `${day}-${arm}-${i}`, insertedAt: new Date() };
        progress.push({ ...base, _id: `${workflowId}/r/0`, seq: 0, stepId: 'entry', outcome: 'entered', at });
        progress.push({ ...base, _id: `${workflowId}/r/1`, seq: 1, stepId: 'subject-test', outcome: `variant:${arm}`, at });
        if (i >= converters) continue;
        const orderedAt = new Date(at.getTime() + 3_600_000).toISOString();
        conversions.push({
          _id: `${workflowId}/returned/o`,
          journeyId: 'winBack', version: 1, workflowId, userId: base.userId, goal: 'returned',
          event: { messageId: `o-${workflowId}`, event: 'Order Completed', userId: base.userId, timestamp: orderedAt, properties: JSON.stringify({ revenue: 10 }) },
          enteredAt: at.toISOString(),
          steps: [{ stepId: 'subject-test', at: at.toISOString(), outcome: `variant:${arm}` }, { stepId: 'goal:returned', at: orderedAt, outcome: 'converted:Order Completed' }],
          attributedTo: [],
          at: new Date(),
        });
      }
    }
    await db.collections.progress.insertMany(progress);
    await db.collections.conversions.insertMany(conversions);
  }

  it('gives rates, intervals, lift and p-values against the holdout, and warns of a broken ratio', async () => {
    await seedDay('2026-03-01', { A: { entrants: 900, converters: 120 }, B: { entrants: 900, converters: 90 }, holdout: { entrants: 200, converters: 20 } });
    await seedDay('2026-03-02', { A: { entrants: 520, converters: 52 }, B: { entrants: 380, converters: 38 }, holdout: { entrants: 100, converters: 10 } });
    await foldIntoRollups(db, { ...ROLLUP, batchSize: 1_000 });

    const first = await experimentReport(db, 'winBack', { from: '2026-03-01', to: '2026-03-01' });
    const [a, b, holdout] = first.splits[0]!.arms;
    expect(a).toMatchObject({ arm: 'A', entrants: 900, converters: 120, rate: expect.closeTo(0.133333, 5) });
    expect(a!.interval.low).toBeCloseTo(0.112676, 5);
    expect(a!.interval.high).toBeCloseTo(0.157108, 5);
    // 120/900 against 20/200: +3.33 points, +33.3%, p 0.2008; difference interval -1.38 to +8.05 points.
    expect(a!.comparison!.absoluteLift).toBeCloseTo(0.033333, 5);
    expect(a!.comparison!.relativeLift).toBeCloseTo(0.333333, 5);
    expect(a!.comparison!.pValue).toBeCloseTo(0.200751, 5);
    expect(a!.comparison!.absoluteLiftInterval.low).toBeCloseTo(-0.013803, 5);
    expect(a!.comparison!.absoluteLiftInterval.high).toBeCloseTo(0.08047, 5);
    expect(b!.comparison).toMatchObject({ absoluteLift: expect.closeTo(0, 12), pValue: expect.closeTo(1, 12) });
    expect(holdout).toMatchObject({ control: true, entrants: 200, converters: 20 });
    expect(first.splits[0]!.sampleRatio).toMatchObject({ chiSquare: expect.closeTo(0, 12), mismatch: false });

    // The second day alone: 520/380/100 against 45/45/10 of 1,000, chi-square 21.78, p 1.9e-5.
    const second = await experimentReport(db, 'winBack', { from: '2026-03-02', to: '2026-03-02' });
    expect(second.splits[0]!.sampleRatio).toMatchObject({ chiSquare: expect.closeTo(21.7778, 3), mismatch: true });
    expect(second.splits[0]!.sampleRatio.pValue).toBeCloseTo(1.8664e-5, 8);

    // A chosen control: B against A over both days.
    const both = await experimentReport(db, 'winBack', { control: 'A' });
    expect(both.splits[0]!.arms.map((arm) => [arm.arm, arm.entrants, arm.converters, arm.control])).toEqual([
      ['A', 1420, 172, true],
      ['B', 1280, 128, false],
      ['holdout', 300, 30, false],
    ]);
  });

  it('folds each record once when the store fails at any call of the fold, before or after the write lands', async () => {
    const day = '2026-04-01';
    const entered = async () => (await journeyReport(db, 'winBack', { from: day, to: day })).entered;
    let seeded = 0;
    const seedFive = async () => {
      await seedDay(day, { [`arm${seeded}`]: { entrants: 5, converters: 1 } });
      seeded += 5;
    };
    // How many store calls a fold of one small round makes, without faults.
    await seedFive();
    const counted = withStoreFault(db);
    await foldIntoRollups(counted.db, ROLLUP);
    const calls = counted.calls();
    expect(await entered()).toBe(seeded);
    for (const timing of ['before', 'after'] as const) {
      for (let n = 1; n <= calls; n++) {
        await seedFive();
        await expect(foldIntoRollups(withStoreFault(db, onceAt(n, timing)).db, ROLLUP), `fault ${timing} call ${n}`).rejects.toThrow(/injected fault/);
        await foldIntoRollups(db, ROLLUP); // the schedule's next run
        expect(await entered(), `fault ${timing} call ${n}`).toBe(seeded);
        const converted = (await journeyReport(db, 'winBack', { from: day, to: day })).goals[0]!.converters;
        expect(converted, `fault ${timing} call ${n}`).toBe(seeded / 5);
      }
    }
    // Folded records are gone; what is left is only what has not been folded.
    expect(await db.collections.progress.countDocuments()).toBe(0);
  });
});

describe('reports at the edges', () => {
  it('serves the reports as JSON under the admin token, with a 4xx and the reason for a bad question', async () => {
    const { system } = tester;
    const get = (path: string, token = system.adminToken) => fetch(`${system.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const journey = await get('/admin/reports/journeys/winBack');
    expect(journey.status).toBe(200);
    expect(await journey.json()).toEqual(JSON.parse(JSON.stringify(await journeyReport(system.db, 'winBack'))));
    const experiment = await get('/admin/reports/experiments/winBack?control=B');
    expect(((await experiment.json()) as { splits: Array<{ control: string }> }).splits[0]!.control).toBe('B');
    const attribution = await get('/admin/reports/attribution?model=first-touch&journey=cartAbandonment');
    expect(await attribution.json()).toMatchObject({ model: 'first-touch', conversions: 3 });

    expect((await get('/admin/reports/journeys/winBack', 'wrong-token-wrong-token')).status).toBe(401);
    const badDay = await get('/admin/reports/journeys/winBack?from=yesterday');
    expect(badDay.status).toBe(400);
    expect(JSON.stringify(await badDay.json())).toContain('YYYY-MM-DD');
    expect((await get('/admin/reports/attribution?model=everything')).status).toBe(400);
    const noArm = await get('/admin/reports/experiments/winBack?control=C');
    expect(noArm.status).toBe(404);
    expect(await noArm.json()).toEqual({ error: 'split "subject-test" has no arm "C"' });
  });

  it('prints the reports from the CLI, as text and as JSON', async () => {
    const { env } = tester.system;
    const text = await runCli(['report', 'journey', 'winBack'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('entered 8, completed 4 (50.0%), exited: Order Completed 4');
    expect(text.stdout).toMatch(/returned\s+4\s+50\.0%\s+4\s+110\.00\s+1\.5 d/);
    const experiment = await runCli(['report', 'experiment', 'winBack'], env);
    expect(experiment.stdout).toMatch(/A\s+45%\s+3\s+2\s+66\.7%\s+20\.8% to 93\.9%\s+not enough data/);
    const json = await runCli(['report', 'attribution', '--model', 'last-touch', '--journey', 'winBack', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ model: 'last-touch', conversions: 4, unattributed: 1 });
    const bad = await runCli(['report', 'attribution', '--model', 'magic'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--model');
  });
});

