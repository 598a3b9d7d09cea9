/**
 * Feedback loops that update suppression: RFC 8058 one-click unsubscribe from the links in real
 * emails, forged links refused; Twilio inbound STOP / START and status callbacks, signatures verified.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../stack/wait-until.js';
import type { SuppressionChannel } from '../store/suppressions.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    journeySettings: {
      browseAbandonment: { browseWindow: '1s' },
      cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1 hour' },
    },
  });
});
afterAll(() => system?.close());

const active = (userId: string, channel: SuppressionChannel) =>
  system.db.collections.suppressions.find({ kind: 'suppression', userId, channel, liftedAt: { $exists: false } }).toArray();

describe('unsubscribe', () => {
  async function reminderFor(userId: string) {
    await system.identify(userId, { email: `${userId}@example.com` });
    await system.track(userId, 'Product Viewed', { name: 'Lamp' });
    await system.journeyResult(userId, 'browseAbandonment');
    return system.smtp.messagesTo(`${userId}@example.com`)[0]!;
  }

  it('marketing email carries List-Unsubscribe one-click; the POST suppresses, and the next email is not sent', async () => {
    const userId = uniqueId('unsub');
    const mail = await reminderFor(userId);
    const raw = (name: string) => mail.headerLines.find((h) => h.key === name)?.line.replace(/^[^:]+:\s*/, '');
    const url = raw('list-unsubscribe')!.replace(/^<|>$/g, '');
    expect(raw('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail.text).toContain(`Unsubscribe: ${url}`);

    const landing = await fetch(url);
    expect(landing.status).toBe(200);
    expect(await active(userId, 'email')).toHaveLength(0); // a GET (link scanners) never unsubscribes

    const oneClick = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(oneClick.status).toBe(200);
    // One click leaves the list the email came from: its category.
    expect(await active(userId, 'email')).toMatchObject([{ reason: 'unsubscribe', category: 'marketing', source: 'list-unsubscribe-one-click' }]);

    // The next marketing email, from another journey (browse abandonment has a week's cooldown).
    await system.track(userId, 'Checkout Started', { cart_id: 'u-1' });
    await waitUntil(async () => (await system.reasons(userId)).includes('cart-reminder-email:suppressed:unsubscribe:marketing'), 30_000, 'the decision');
    expect(system.smtp.messagesTo(`${userId}@example.com`)).toHaveLength(1);
    await system.track(userId, 'Order Completed');
  });

  it('the landing page offers the message\'s category or all marketing email; "all" suppresses the whole channel', async () => {
    const userId = uniqueId('unsub-all');
    const mail = await reminderFor(userId);
    const url = String(mail.text!.match(/Unsubscribe: (\S+)/)![1]);
    const landing = await (await fetch(url)).text();
    expect(landing).toContain('Unsubscribe from marketing');
    expect(landing).toContain('Unsubscribe from all marketing email');
    const all = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'scope=all' });
    expect(all.status).toBe(200);
    const [suppression] = await active(userId, 'email');
    expect(suppression).toMatchObject({ reason: 'unsubscribe', source: 'unsubscribe-link' });
    expect(suppression?.category).toBeUndefined();
  });

  it('refuses a forged link: another customer\'s id with this token\'s signature', async () => {
    const userId = uniqueId('victim');
    const mail = await reminderFor(userId);
    const url = new URL(String(mail.text!.match(/Unsubscribe: (\S+)/)![1]));
    const [, signature] = url.searchParams.get('token')!.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ u: 'someone-else', c: 'email' })).toString('base64url');
    url.searchParams.set('token', `${forgedPayload}.${signature}`);
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(response.status).toBe(403);
    expect(await active('someone-else', 'email')).toHaveLength(0);
  });
});

describe('Twilio webhooks', () => {
  const post = (path: string, params: Record<string, string>, token = system.twilio.authToken) => {
    const url = new URL(path, system.httpUrl).href;
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params) },
      body: new URLSearchParams(params).toString(),
    });
  };

  it('STOP suppresses SMS for the sender, START lifts it, and both are on record', async () => {
    const userId = uniqueId('texter');
    const phone = '+14155550001';
    await system.identify(userId, { email: `${userId}@example.com`, phone, consent: { sms: true } });
    const stop = await post('/webhooks/twilio/inbound', { From: phone, To: system.config.TWILIO_FROM, Body: 'Stop' });
    expect(stop.status).toBe(200);
    expect(await stop.text()).toContain('<Response></Response>');
    expect(await active(userId, 'sms')).toMatchObject([{ reason: 'sms-stop', source: 'twilio-inbound', evidence: `"Stop" from ${phone}` }]);

    await post('/webhooks/twilio/inbound', { From: phone, To: system.config.TWILIO_FROM, Body: 'START' });
    expect(await active(userId, 'sms')).toHaveLength(0);
    const history = await system.db.collections.suppressions.find({ kind: 'suppression', userId }).toArray();
    expect(history).toMatchObject([{ reason: 'sms-stop', liftSource: 'twilio-inbound: "START"' }]);
  });

  it('refuses a request without a valid X-Twilio-Signature', async () => {
    const userId = uniqueId('spoofed');
    const phone = '+14155550002';
    await system.identify(userId, { phone });
    const spoofed = await post('/webhooks/twilio/inbound', { From: phone, Body: 'STOP' }, 'not-the-auth-token');
    expect(spoofed.status).toBe(403);
    expect(await active(userId, 'sms')).toHaveLength(0);
  });

  it('a status callback with error 21610 suppresses the recipient and is noted on the ledger entry', async () => {
    const userId = uniqueId('callback');
    const phone = '+14155550003';
    await system.identify(userId, { email: `${userId}@example.com`, phone, consent: { sms: true } });
    await system.track(userId, 'Checkout Started', { cart_id: 'cb-1' });
    await waitUntil(async () => (await system.reasons(userId)).includes('cart-reminder-sms:sent'), 30_000, 'the SMS');
    const sent = system.twilio.messages.find((m) => m.to === phone)!;
    const response = await post('/webhooks/twilio/status', { MessageSid: sent.sid, MessageStatus: 'undelivered', ErrorCode: '21610', To: phone });
    expect(response.status).toBe(204);
    expect(await system.db.collections.ledger.findOne({ providerMessageId: sent.sid })).toMatchObject({ providerStatus: 'undelivered', providerErrorCode: '21610' });
    expect(await active(userId, 'sms')).toMatchObject([{ reason: 'sms-stop', source: 'twilio-status' }]);
    await system.track(userId, 'Order Completed');
  });
});
