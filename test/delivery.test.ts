/**
 * The delivery activity on its own (inside Temporal's activity context), against FerretDB or MongoDB
 * and the local SMTP / Twilio / webhook servers: idempotency, the cap under a 50-way race, each class
 * of provider error, and failing closed when the database is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { openDatabase } from '../store/db.js';
import { mergeTraits } from '../store/profiles.js';
import type { DeliveryRequest, MessageRequest } from '../workflows/sdk/types.js';
import { deliverer, deliveryRequest } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
const rejections = new Map<string, number>();

beforeAll(async () => {
  system = await startTestSystem({
    startWorker: false,
    frequencyCap: '3/24h',
    smtp: { respond: rejectionFor },
  });
});
afterAll(() => system?.close());

function rejectionFor(message: { to?: unknown }): number | undefined {
  for (const [address, code] of rejections) if (JSON.stringify(message.to).includes(address)) return code;
  return undefined;
}

async function customer(traits: Record<string, unknown> = {}) {
  const userId = uniqueId('d');
  const email = `${userId}@example.com`;
  await mergeTraits(system.db.collections.profiles, userId, { email, phone: '+14155551111', consent: { sms: true }, ...traits });
  return { userId, email };
}

const request = (userId: string, overrides: Partial<MessageRequest> = {}) =>
  deliveryRequest(userId, { data: { products: [{ name: 'Lamp' }] }, ...overrides });

const deliver = (req: DeliveryRequest) => deliverer(system.config, system.db).deliver(req);

const mailsTo = (email: string) => system.smtp.messagesTo(email);

describe('idempotency', () => {
  it('a retried or replayed step finds its ledger entry and does not send again', async () => {
    const c = await customer();
    const first = await deliver(request(c.userId));
    const again = await deliver(request(c.userId));
    expect(first).toEqual({ delivered: true, reason: 'sent' });
    expect(again).toEqual(first);
    expect(mailsTo(c.email)).toHaveLength(1);
    expect(await system.db.collections.grants.countDocuments({ kind: 'grant', userId: c.userId })).toBe(1);
  });

  it('a step capped on its first attempt stays capped on a retry after the window frees; the retry\'s grant is given back', async () => {
    const { deliver: deliverCapped } = deliverer(loadConfig({ ...system.env, FREQUENCY_CAP: '1/2s' }), system.db);
    const c = await customer();
    expect((await deliverCapped(request(c.userId, { stepId: 'first' }))).reason).toBe('sent');
    const capped = request(c.userId, { stepId: 'second' });
    expect((await deliverCapped(capped)).reason).toBe('capped:marketing-all-channels');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    // The window is free now: the retry takes a grant, meets the recorded outcome, and gives it back.
    expect(await deliverCapped(capped)).toEqual({ delivered: false, reason: 'capped:marketing-all-channels' });
    expect(await system.db.collections.grants.countDocuments({ kind: 'grant', sendKey: capped.idempotencyKey })).toBe(0);
    expect(mailsTo(c.email)).toHaveLength(1);
  });

  it('ten attempts of one step at once send one message and take one grant', { repeats: 4 }, async () => {
    const c = await customer();
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => deliver(request(c.userId))));
    expect(outcomes.filter((o) => o.delivered).length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o.delivered || o.reason === 'unknown-outcome')).toBe(true);
    expect(mailsTo(c.email)).toHaveLength(1);
    expect(await system.db.collections.grants.countDocuments({ kind: 'grant', userId: c.userId })).toBe(1);
  });

  it('gives every message the same Message-ID on every attempt of a step', async () => {
    const c = await customer();
    await deliver(request(c.userId));
    expect(mailsTo(c.email)[0]?.messageId).toMatch(/^<[0-9a-f]{32}@throughline\.local>$/);
  });
});

describe('frequency cap', () => {
  // Repeated: a race that passes once proves little.
  it('holds when 50 sends for one customer race: exactly 3 go out', { repeats: 4 }, async () => {
    const c = await customer();
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => deliver(request(c.userId, { stepId: `promo-${i}`, journeyId: `journey-${i % 5}` }))),
    );
    expect(outcomes.filter((o) => o.delivered)).toHaveLength(3);
    expect(outcomes.filter((o) => o.reason === 'capped:marketing-all-channels')).toHaveLength(47);
    expect(mailsTo(c.email)).toHaveLength(3);
  });

  it('transactional messages are not capped', async () => {
    const c = await customer();
    for (let i = 0; i < 3; i++) await deliver(request(c.userId, { stepId: `m-${i}` }));
    const receipt = await deliver(request(c.userId, { stepId: 'receipt', category: 'transactional' }));
    expect(receipt.reason).toBe('sent');
    expect((await deliver(request(c.userId, { stepId: 'm-4' }))).reason).toBe('capped:marketing-all-channels');
  });
});

describe('provider errors', () => {
  it('a permanent SMTP rejection fails the send, suppresses the address and frees the cap slot', async () => {
    const c = await customer();
    rejections.set(c.email, 550);
    const outcome = await deliver(request(c.userId));
    expect(outcome).toEqual({ delivered: false, reason: 'failed:smtp-550' });
    expect(await system.db.collections.grants.countDocuments({ kind: 'grant', userId: c.userId })).toBe(0);
    const suppression = await system.db.collections.suppressions.findOne({ kind: 'suppression', userId: c.userId });
    expect(suppression).toMatchObject({ channel: 'email', reason: 'hard-bounce', source: 'provider:smtp-550' });
    rejections.delete(c.email);
    expect((await deliver(request(c.userId, { stepId: 'next' }))).reason).toBe('suppressed:hard-bounce');
  });

  it('a transient SMTP error throws for Temporal to retry, and the retry sends', async () => {
    const c = await customer();
    rejections.set(c.email, 451);
    await expect(deliver(request(c.userId))).rejects.toThrow(/451/);
    expect(await system.db.collections.ledger.countDocuments({ userId: c.userId })).toBe(0);
    rejections.delete(c.email);
    expect(await deliver(request(c.userId))).toEqual({ delivered: true, reason: 'sent' });
    expect(mailsTo(c.email)).toHaveLength(1);
    expect(await system.db.collections.grants.countDocuments({ kind: 'grant', userId: c.userId })).toBe(1);
  });

  it('Twilio 21610 (the recipient sent STOP) suppresses SMS and is not retried', async () => {
    const phone = '+14155550000';
    const c = await customer({ phone });
    system.twilio.failures.set(phone, { status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    const sms = (stepId: string) => request(c.userId, { stepId, channel: 'sms', template: 'cart-reminder-sms' });
    expect(await deliver(sms('sms-1'))).toEqual({ delivered: false, reason: 'failed:twilio-21610' });
    expect(await deliver(sms('sms-2'))).toEqual({ delivered: false, reason: 'suppressed:sms-stop' });
    expect(system.twilio.messages.filter((m) => m.to === phone)).toHaveLength(0);
  });

  it('a Twilio 5xx is transient', async () => {
    const phone = '+14155550001';
    const c = await customer({ phone });
    system.twilio.failures.set(phone, { status: 503, code: 20503, message: 'Service unavailable' });
    await expect(deliver(request(c.userId, { channel: 'sms', template: 'cart-reminder-sms' }))).rejects.toThrow();
    system.twilio.failures.delete(phone);
    expect((await deliver(request(c.userId, { channel: 'sms', template: 'cart-reminder-sms' }))).reason).toBe('sent');
  });
});

describe('fail closed', () => {
  it('sends nothing when the database cannot be reached, and throws so Temporal retries', async () => {
    const c = await customer();
    const unreachable = await openDatabase(system.config.MONGODB_URL, system.config.MONGODB_DATABASE);
    await unreachable.close();
    await expect(deliverer(system.config, unreachable).deliver(request(c.userId))).rejects.toThrow();
    expect(mailsTo(c.email)).toHaveLength(0);
  });
});

describe('phone numbers', () => {
  it('never calls Twilio for a number that cannot exist, and records the segments of one that can', async () => {
    const bad = await customer({ phone: '+1 555 000 1234' });
    const sms = (userId: string) => request(userId, { channel: 'sms', template: 'cart-reminder-sms' });
    expect(await deliver(sms(bad.userId))).toEqual({ delivered: false, reason: 'invalid-address' });
    expect(system.twilio.messages.filter((m) => m.to.includes('5550001234'))).toHaveLength(0);

    const good = await customer({ phone: '+14155550150' });
    expect((await deliver(sms(good.userId))).reason).toBe('sent');
    const entry = await system.db.collections.ledger.findOne({ userId: good.userId });
    expect(entry?.detail).toBe('1 segment, GSM-7');
  });

  it('stores phones from identify calls in E.164', async () => {
    const userId = uniqueId('national');
    await system.identify(userId, { phone: '(415) 555-0177' });
    expect((await system.db.collections.profiles.findOne({ _id: userId }))?.traits.phone).toBe('+14155550177');
  });
});

describe('policy', () => {
  it('records why a message was not sent: no address, no profile, no consent', async () => {
    const noPhone = await customer({ phone: null });
    expect((await deliver(request(noPhone.userId, { channel: 'sms', template: 'cart-reminder-sms' }))).reason).toBe('no-address');
    expect((await deliver(request('nobody-' + uniqueId('x')))).reason).toBe('no-profile');
    const optedOut = await customer({ consent: { email: false, sms: true } });
    expect((await deliver(request(optedOut.userId))).reason).toBe('no-consent');
  });
});
