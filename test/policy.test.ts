/**
 * The policy decision beyond the basics: quiet hours in the recipient's zone, several cap rules at
 * once (per channel, per category), deferring versus dropping, and a journey whose emails a deferring
 * cap spaces out, durably, on the real stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { mergeTraits } from '../store/profiles.js';
import type { DeliveryRequest } from '../workflows/sdk/types.js';
import { deliverer, deliveryRequest } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    frequencyCaps: JSON.stringify([{ name: 'welcome-pace', limit: 1, window: '4s', journeys: ['welcomeSeries'], channels: ['email'], onCap: 'defer', maxDelay: '1m' }]),
    journeySettings: { welcomeSeries: { followUpDelay: '1s', firstOrderWindow: '1s' } },
  });
});
afterAll(() => system?.close());

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

const deliverWith = (env: Record<string, string>) => deliverer(loadConfig({ ...system.env, ...env }), system.db).deliver;

async function customer(traits: Record<string, unknown> = {}) {
  const userId = uniqueId('p');
  await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com`, phone: '+14155553333', consent: { sms: true }, timezone: 'UTC', ...traits });
  let step = 0;
  // Each call is a new send (a new step) of a marketing SMS unless overridden.
  const request = (overrides: Partial<DeliveryRequest> = {}) =>
    deliveryRequest(userId, { stepId: `step-${++step}`, channel: 'sms', template: 'cart-reminder-sms', ...overrides } as Partial<DeliveryRequest>);
  return { userId, request };
}

describe('quiet hours', () => {
  // Quiet from an hour ago until two hours from now, in UTC: "now" is inside them whatever the time.
  const now = Date.now();
  const quiet = JSON.stringify({ sms: { start: hhmm(now - 3_600_000), end: hhmm(now + 7_200_000) } });

  it('defers a marketing SMS to the end of the recipient\'s quiet hours, and says until when', async () => {
    const deliver = deliverWith({ QUIET_HOURS: quiet });
    const c = await customer();
    const outcome = await deliver(c.request());
    const opensAt = new Date(Math.floor((now + 7_200_000) / 60_000) * 60_000).toISOString();
    expect(outcome).toEqual({ delivered: false, reason: `deferred:quiet-hours until ${opensAt}`, deferUntil: opensAt });
    expect(system.twilio.messages.filter((m) => m.to === '+14155553333')).toHaveLength(0);
  });

  it('lets transactional SMS and email through', async () => {
    const deliver = deliverWith({ QUIET_HOURS: quiet });
    const c = await customer({ phone: '+14155554444' });
    expect((await deliver(c.request({ category: 'transactional' }))).reason).toBe('sent');
    expect((await deliver(c.request({ channel: 'email', template: 'cart-reminder' }))).reason).toBe('sent');
  });

  it('uses the configured zone for a recipient without one', async () => {
    const deliver = deliverWith({ QUIET_HOURS: quiet, DEFAULT_TIME_ZONE: 'UTC' });
    const c = await customer({ timezone: 'Not/AZone', phone: '+14155555555' });
    expect((await deliver(c.request())).reason).toMatch(/^deferred:quiet-hours until /);
  });
});

describe('several cap rules', () => {
  const rules = JSON.stringify([
    { name: 'sms-daily', limit: 1, window: '24h', channels: ['sms'], onCap: 'defer', maxDelay: '48h' },
    { name: 'promotions-weekly', limit: 1, window: '7d', categories: ['promotions'], onCap: 'drop' },
  ]);

  it('defers the second SMS of the day until the first leaves the window; email is not held back', async () => {
    const deliver = deliverWith({ FREQUENCY_CAP: '10/24h', FREQUENCY_CAPS: rules });
    const c = await customer({ phone: '+14155556666' });
    expect((await deliver(c.request())).reason).toBe('sent');
    const firstGrant = await system.db.collections.grants.findOne({ kind: 'grant', userId: c.userId, rule: 'sms-daily' });
    const second = c.request();
    const outcome = await deliver(second);
    const freeAt = new Date(firstGrant!.at.getTime() + 86_400_000).toISOString();
    expect(outcome).toEqual({ delivered: false, reason: `deferred:cap:sms-daily until ${freeAt}`, deferUntil: freeAt });
    // All or nothing: the global rule's grant taken for the deferred SMS was given back.
    expect(await system.db.collections.grants.countDocuments({ kind: 'grant', sendKey: second.idempotencyKey })).toBe(0);
    expect((await deliver(c.request({ channel: 'email', template: 'cart-reminder' }))).reason).toBe('sent');
  });

  it('drops instead when the wait would exceed the rule\'s maximum delay', async () => {
    const short = JSON.stringify([{ name: 'sms-daily', limit: 1, window: '24h', channels: ['sms'], onCap: 'defer', maxDelay: '1h' }]);
    const deliver = deliverWith({ FREQUENCY_CAP: '10/24h', FREQUENCY_CAPS: short });
    const c = await customer({ phone: '+14155557777' });
    await deliver(c.request());
    expect(await deliver(c.request())).toEqual({ delivered: false, reason: 'dropped:cap-expired:sms-daily' });
  });

  it('counts only the category a rule names', async () => {
    const deliver = deliverWith({ FREQUENCY_CAP: '10/24h', FREQUENCY_CAPS: rules });
    const c = await customer();
    const promo = () => c.request({ channel: 'email', template: 'cart-reminder', category: 'promotions' });
    expect((await deliver(promo())).reason).toBe('sent');
    expect((await deliver(promo())).reason).toBe('capped:promotions-weekly');
    expect((await deliver(c.request({ channel: 'email', template: 'cart-reminder', category: 'newsletter' }))).reason).toBe('sent');
  });

  it('does not count exempt categories, per rule or for every rule', async () => {
    const c = await customer();
    const email = (category: string) => c.request({ channel: 'email', template: 'cart-reminder', category });
    const perRule = JSON.stringify([{ name: 'email-daily', limit: 1, window: '24h', channels: ['email'], exemptCategories: ['alerts'] }]);
    const deliver = deliverWith({ FREQUENCY_CAP: '10/24h', FREQUENCY_CAPS: perRule });
    expect((await deliver(email('alerts'))).reason).toBe('sent');
    expect((await deliver(email('newsletter'))).reason).toBe('sent');
    expect((await deliver(email('alerts'))).reason).toBe('sent');
    expect((await deliver(email('newsletter'))).reason).toBe('capped:email-daily');
    // The global rule already holds this customer's first two emails: only an exempt one gets through.
    const everyRule = deliverWith({ FREQUENCY_CAP: '1/24h', CAP_EXEMPT_CATEGORIES: 'alerts,newsletter' });
    expect((await everyRule(email('promotions'))).reason).toBe('capped:marketing-all-channels');
    expect((await everyRule(email('newsletter'))).reason).toBe('sent');
  });

  it('refuses a window longer than 30 days', () => {
    const tooLong = JSON.stringify([{ name: 'quarterly', limit: 5, window: '90d' }]);
    expect(() => loadConfig({ ...system.env, FREQUENCY_CAPS: tooLong })).toThrow(/at most 30d/);
  });
});

describe('a deferring cap in a journey', () => {
  it('spaces the welcome series out instead of dropping its emails, and the ledger says why', async () => {
    const userId = uniqueId('paced');
    await system.identify(userId, { email: `${userId}@example.com`, signup_source: 'search' });
    await system.track(userId, 'Signed Up');
    const result = await system.journeyResult(userId, 'welcomeSeries');
    const sends = result.steps.filter((s) => s.stepId.endsWith('-email'));
    expect(sends.filter((s) => s.outcome === 'sent').map((s) => s.stepId)).toEqual(['welcome-email', 'tips-email', 'first-order-nudge-email']);
    expect(sends.some((s) => /^deferred:cap:welcome-pace until /.test(s.outcome))).toBe(true);
    const arrivals = system.smtp.messagesTo(`${userId}@example.com`).map((m) => m.date!.getTime());
    expect(arrivals).toHaveLength(3);
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - 1]!).toBeGreaterThanOrEqual(3_000);
    const ledger = await system.reasons(userId);
    expect(ledger.filter((r) => r.startsWith('tips-email:'))).toEqual([expect.stringMatching(/^tips-email:deferred:cap:welcome-pace until /), 'tips-email:sent']);
  });
});

describe('priority for the last slot', () => {
  // cartAbandonment is the top priority among the shipped journeys; the win-back (priority 0) yields.
  const deliver = () => deliverWith({ FREQUENCY_CAP: '2/24h', CAP_PRIORITY_WINDOW: '10m' });

  it('a lower-priority journey waits for the last slot, and a higher-priority one that comes meanwhile gets it', async () => {
    const send = deliver();
    const c = await customer();
    const now = new Date().toISOString();
    const low = (stepId: string) => c.request({ stepId, journeyId: 'winBack', priority: 0, firstAttemptAt: now });
    expect((await send(low('winback-1'))).reason).toBe('sent'); // not the last slot: first come, first served
    const waiting = await send(low('winback-2'));
    const heldUntil = new Date(Date.parse(now) + 600_000).toISOString();
    expect(waiting).toEqual({ delivered: false, reason: `deferred:last-slot:marketing-all-channels until ${heldUntil}`, deferUntil: heldUntil });
    expect((await send(c.request({ stepId: 'cart-1', journeyId: 'cartAbandonment', priority: 10, firstAttemptAt: now }))).reason).toBe('sent');
    // The win-back asks again once its wait is over (a new occurrence of its step): the slot is gone.
    const again = low('winback-2');
    expect((await send({ ...again, idempotencyKey: again.idempotencyKey.replace(/#1$/, '#2') })).reason).toBe('capped:marketing-all-channels');
  });

  it('takes the last slot once it has waited, if nobody of higher priority wanted it', async () => {
    const send = deliver();
    const c = await customer();
    const longAgo = new Date(Date.now() - 11 * 60_000).toISOString();
    expect((await send(c.request({ stepId: 'w-1', journeyId: 'winBack', priority: 0 }))).reason).toBe('sent');
    expect((await send(c.request({ stepId: 'w-2', journeyId: 'winBack', priority: 0, firstAttemptAt: longAgo }))).reason).toBe('sent');
  });
});
