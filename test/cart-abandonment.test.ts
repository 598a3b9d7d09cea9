/**
 * The cart-abandonment journey end to end on the real stack: events in over HTTP, Temporal workflows,
 * the delivery path in MongoDB/FerretDB, email to a real SMTP server, SMS through the twilio SDK,
 * audience changes through signed webhooks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '../stack/wait-until.js';
import { runCli } from './support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';
import { journeyWorkflowId, stateQuery } from '../workflows/sdk/definitions.js';

const checkout = { cart_id: 'cart-1', value: 42.5, currency: 'EUR', products: [{ name: 'Desk lamp' }], cart_url: 'https://shop.example/cart/1' };

let nextPhone = 100;

async function customer(system: TestSystem, name: string, traits: Record<string, unknown> = {}) {
  const userId = uniqueId(name);
  const phone = `+1415555${String(nextPhone++).padStart(4, '0')}`; // valid, fictional, distinct per customer
  await system.identify(userId, { email: `${userId}@example.com`, phone, first_name: name, consent: { sms: true }, ...traits });
  return { userId, email: `${userId}@example.com`, phone };
}

const mailTo = (system: TestSystem, email: string) => system.smtp.messagesTo(email);
const smsTo = (system: TestSystem, phone: string) => system.twilio.messages.filter((m) => m.to === phone);

describe('cart abandonment with short waits', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({
      journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '2s', retargetFor: '1 hour' } },
    });
  });
  afterAll(() => system?.close());

  it('emails, then texts, then retargets; an order during retargeting takes the customer out again', async () => {
    const c = await customer(system, 'ada');
    await system.track(c.userId, 'Checkout Started', checkout);

    await waitUntil(() => system.audiences.members('cart-abandoners').includes(c.userId), 30_000, 'audience add');
    const [mail] = mailTo(system, c.email);
    expect(mail?.subject).toBe('You left 1 item(s) in your cart');
    expect(mail?.text).toContain('Desk lamp');
    expect(mail?.text).toContain('42.5 EUR');
    // The button's link is tracked: a redirect through the server to the cart (see engagement.test.ts).
    const button = /href="([^"]*\/t\/c\/[^"]*)"/.exec(String(mail?.html))?.[1];
    expect((await fetch(button!, { redirect: 'manual' })).headers.get('location')).toBe('https://shop.example/cart/1');
    const [sms] = smsTo(system, c.phone);
    expect(sms?.body).toContain('Your cart is still waiting, ada.');
    expect(sms?.from).toBe(system.config.TWILIO_FROM);

    await system.track(c.userId, 'Order Completed', { order_id: 'o-1' });
    const result = await system.journeyResult(c.userId);
    expect(result.status).toBe('exited');
    expect(result.exitEvent).toBe('Order Completed');
    // The platforms hear of it at the next audience sync.
    await waitUntil(() => !system.audiences.members('cart-abandoners').includes(c.userId), 30_000, 'audience removal');
    expect(system.audiences.rejected).toBe(0);
    expect(await system.reasons(c.userId)).toEqual([
      'cart-reminder-email:sent',
      'cart-reminder-sms:sent',
      'add-to-retargeting:sent',
      'exit:leave:cart-abandoners:sent',
    ]);
    expect(mailTo(system, c.email)).toHaveLength(1);
    expect(smsTo(system, c.phone)).toHaveLength(1);
  });

  it('sends no SMS to a customer without SMS consent, and still retargets', async () => {
    const c = await customer(system, 'nosms', { consent: { sms: false } });
    await system.track(c.userId, 'Checkout Started', checkout);
    // The ledger records the add after the webhook answers: wait for the decision, not the receiver.
    await waitUntil(async () => (await system.reasons(c.userId)).includes('add-to-retargeting:sent'), 30_000, 'audience add');
    expect(await system.reasons(c.userId)).toEqual(['cart-reminder-email:sent', 'cart-reminder-sms:no-consent', 'add-to-retargeting:sent']);
    expect(smsTo(system, c.phone)).toHaveLength(0);
    await system.track(c.userId, 'Order Completed');
    expect((await system.journeyResult(c.userId)).status).toBe('exited');
  });

  it('sends nothing to an unsubscribed customer, and says why', async () => {
    const c = await customer(system, 'unsub');
    const response = await system.admin('/admin/suppressions', { userId: c.userId, channel: '*', reason: 'unsubscribe' });
    expect(response.status).toBe(201);
    await system.track(c.userId, 'Checkout Started', checkout);
    expect(await system.settledReasons(c.userId, 3)).toEqual([
      'cart-reminder-email:suppressed:unsubscribe',
      'cart-reminder-sms:suppressed:unsubscribe',
      'add-to-retargeting:suppressed:unsubscribe',
    ]);
    expect(mailTo(system, c.email)).toHaveLength(0);
    expect(smsTo(system, c.phone)).toHaveLength(0);
    expect(system.audiences.calls.filter((call) => call.userId === c.userId)).toHaveLength(0);
    await system.track(c.userId, 'Order Completed');
    await system.journeyResult(c.userId);

    // The operator's question, answered by one command.
    const { stdout: explained } = await runCli(['explain', '--user', c.userId], system.env);
    expect(explained).toMatch(/cartAbandonment: entered .* on "Order Completed"/);
    expect(explained).toMatch(/cart-reminder-email +email cart-reminder +suppressed:unsubscribe/);
    expect(explained).toMatch(/add-to-retargeting +audience add:cart-abandoners +suppressed:unsubscribe/);
  });

  it('acts once on a messageId delivered twice', async () => {
    const c = await customer(system, 'dup');
    await system.identify(c.userId, { first_name: 'First' }, 'identify-1');
    await system.identify(c.userId, { first_name: 'Second' }, 'identify-1');
    const profile = await system.db.collections.profiles.findOne({ _id: c.userId });
    expect(profile?.traits.first_name).toBe('First');

    const started = await system.post('/v1/track', { userId: c.userId, event: 'Checkout Started', messageId: 'checkout-1', properties: checkout });
    expect(started.body).toMatchObject({ result: 'accepted' });
    await system.smtp.waitForMessages(1);
    await waitUntil(() => mailTo(system, c.email).length === 1, 30_000, 'the reminder');
    await system.track(c.userId, 'Order Completed');
    const first = await system.temporal.workflow.getHandle(`journey/cartAbandonment/${c.userId}`).describe();
    await system.journeyResult(c.userId);

    // A CDP retrying the checkout after the journey ended must not start the journey again.
    const retried = await system.post('/v1/track', { userId: c.userId, event: 'Checkout Started', messageId: 'checkout-1', properties: checkout });
    expect(retried).toMatchObject({ status: 200, body: { result: 'duplicate' } });
    await sleep(1_500);
    const after = await system.temporal.workflow.getHandle(`journey/cartAbandonment/${c.userId}`).describe();
    expect(after.runId).toBe(first.runId);
    expect(mailTo(system, c.email)).toHaveLength(1);
  });
});

describe('cart abandonment with long waits: conversion ends the journey at once', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({
      journeySettings: { cartAbandonment: { reminderDelay: '2s', orderWindow: '1 hour', retargetFor: '1 hour' } },
    });
  });
  afterAll(() => system?.close());

  it('an order during the first wait: no message at all', async () => {
    const c = await customer(system, 'quick');
    await system.track(c.userId, 'Checkout Started', checkout);
    await sleep(300);
    await system.track(c.userId, 'Order Completed');
    const result = await system.journeyResult(c.userId);
    expect(result).toMatchObject({ status: 'exited', exitEvent: 'Order Completed' });
    await sleep(2_500); // past the reminder time: nothing may go out for this customer
    expect(await system.reasons(c.userId)).toEqual([]);
    expect(mailTo(system, c.email)).toHaveLength(0);
  });

  it('an order during the hour-long wait for an order: exits at once, no SMS, no audience', async () => {
    const c = await customer(system, 'buyer');
    await system.track(c.userId, 'Checkout Started', checkout);
    await waitUntil(() => mailTo(system, c.email).length === 1, 30_000, 'the reminder');
    // In the wait itself: the journey has the email's outcome (an order while the send is finishing
    // is recorded before it, and the email is not credited with it).
    const journey = system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', c.userId));
    await waitUntil(async () => (await journey.query(stateQuery)).currentStep === 'wait-for-order', 30_000, 'the wait for an order');
    const orderedAt = Date.now();
    await system.track(c.userId, 'Order Completed');
    const result = await system.journeyResult(c.userId);
    expect(Date.now() - orderedAt).toBeLessThan(10_000); // the wait was an hour long
    expect(result.status).toBe('exited');
    expect(result.steps.map((s) => `${s.stepId}:${s.outcome}`)).toEqual([
      'wait-before-reminder:waited',
      'cart-reminder-email:sent',
      'goal:ordered:converted:Order Completed',
      'exit:exited:Order Completed',
    ]);
    const conversion = await system.db.collections.conversions.findOne({ userId: c.userId });
    expect(conversion).toMatchObject({ journeyId: 'cartAbandonment', goal: 'ordered', attributedTo: ['cart-reminder-email'] });
    expect(smsTo(system, c.phone)).toHaveLength(0);
    expect(system.audiences.calls.filter((call) => call.userId === c.userId)).toHaveLength(0);
  });
});

describe('frequency cap', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({
      frequencyCap: '1/24h',
      journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' } },
    });
  });
  afterAll(() => system?.close());

  it('holds across channels: the email uses the only slot, the SMS is capped', async () => {
    const c = await customer(system, 'capped');
    await system.track(c.userId, 'Checkout Started', checkout);
    const result = await system.journeyResult(c.userId);
    expect(result.status).toBe('completed');
    expect(await system.reasons(c.userId)).toEqual([
      'cart-reminder-email:sent',
      'cart-reminder-sms:capped:marketing-all-channels',
      'add-to-retargeting:sent',
      'retargeting-ended:sent',
    ]);
    expect(smsTo(system, c.phone)).toHaveLength(0);
  });
});
