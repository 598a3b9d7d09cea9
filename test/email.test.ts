/**
 * Email as an operator runs it: the template's own sender and a plain-text part arrive at a real SMTP
 * server; the VERP return path ties an asynchronous bounce back to the send and its customer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailProvider } from '../activities/providers/email.js';
import { NotSentError, PermanentDeliveryError, unclaimed } from '../activities/providers/provider.js';
import { startSmtpSink } from '../stack/smtp-sink.js';
import { waitUntil } from '../stack/wait-until.js';
import { mergeTraits } from '../store/profiles.js';
import { dsn, postBounce } from './support/provider-reports.js';
import { deliverer, deliveryRequest } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
let send: ReturnType<typeof deliverer>;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false });
  send = deliverer(system.config, system.db);
});
afterAll(async () => {
  await send?.close();
  await system?.close();
});

async function customerWithReviewRequest() {
  const userId = uniqueId('bounce');
  const email = `${userId}@example.com`;
  await mergeTraits(system.db.collections.profiles, userId, { email, first_name: 'Ines' });
  const request = deliveryRequest(userId, { stepId: 'review-request-email', template: 'review-request', data: { order_id: 'o-77' } });
  expect((await send.deliver(request)).reason).toBe('sent');
  const [mail] = system.smtp.messagesTo(email);
  return { userId, email, mail: mail!, key: request.idempotencyKey };
}


describe('SMTP outcomes: not sent, refused for good, or unknown once the server may have the message', () => {
  const message = { to: 'someone@example.com', subject: 'Hi', html: '<p>Hi</p>', text: 'Hi' };
  const kindOf = (err: unknown) => (err instanceof PermanentDeliveryError ? 'permanent' : err instanceof NotSentError ? 'not sent' : 'unknown');

  it.each([
    { answer: 550, kind: 'permanent', what: 'mailbox unavailable' },
    { answer: 552, kind: 'permanent', what: 'exceeded storage' },
    { answer: 421, kind: 'not sent', what: 'service not available' },
    { answer: 451, kind: 'not sent', what: 'local error' },
    { answer: 'silence', kind: 'unknown', what: 'the whole message arrived, no answer within the timeout' },
  ] as const)('$answer ($what): $kind, after the hand-over', async ({ answer, kind }) => {
    const sink = await startSmtpSink({ respond: () => (answer === 'silence' ? new Promise<undefined>(() => undefined) : answer) });
    const provider = createEmailProvider({ smtpUrl: sink.url, from: 'shop@example.com', timeoutMs: 500 });
    let handedOver = 0;
    try {
      const error = await provider.send(message, `k-${answer}`, async () => void handedOver++).then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(Error);
      expect(kindOf(error)).toBe(kind);
      expect(handedOver).toBe(1);
      if (error instanceof PermanentDeliveryError) expect(error).toMatchObject({ code: `smtp-${answer}`, suppress: 'hard-bounce' });
    } finally {
      provider.close();
      await sink.close();
    }
  });

  it('a server that refuses the connection never gets the hand-over: the send was certainly not made', async () => {
    const sink = await startSmtpSink();
    const url = sink.url;
    await sink.close();
    const provider = createEmailProvider({ smtpUrl: url, from: 'shop@example.com', timeoutMs: 500 });
    let handedOver = 0;
    const error = await provider.send(message, 'k-refused', async () => void handedOver++).then(() => undefined, (err: unknown) => err);
    provider.close();
    expect(String(error)).toMatch(/ECONNREFUSED/);
    expect(handedOver).toBe(0);
  });

  it('hands over only as many sends as there are pooled connections; the others wait unclaimed', async () => {
    let release!: () => void;
    const held = new Promise<undefined>((resolve) => (release = () => resolve(undefined)));
    let arrived = 0;
    const sink = await startSmtpSink({ respond: () => (arrived++, held) });
    const provider = createEmailProvider({ smtpUrl: sink.url, from: 'shop@example.com', maxConnections: 2 });
    let handedOver = 0;
    try {
      const sends = Array.from({ length: 6 }, (_, i) => provider.send({ ...message, to: `p${i}@example.com` }, `k-pool-${i}`, async () => void handedOver++));
      await waitUntil(() => arrived === 2, 10_000, 'two messages at the server');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect([arrived, handedOver]).toEqual([2, 2]);
      release();
      await Promise.all(sends);
      expect(handedOver).toBe(6);
      expect(sink.messages).toHaveLength(6);
    } finally {
      provider.close();
      await sink.close();
    }
  });
});

describe('email', () => {
  it("goes out from the template's sender, with a plain-text part and a VERP return path", async () => {
    const { mail } = await customerWithReviewRequest();
    expect(mail.from?.value).toEqual([{ name: 'Shop reviews', address: 'reviews@shop.example.com' }]);
    expect(mail.text).toContain('Your order o-77 arrived a few days ago.');
    expect(mail.html).toContain('<p>Hi Ines,</p>');
    const token = /^<([0-9a-f]{32})@/.exec(mail.messageId!)![1];
    expect(mail.envelopeFrom).toBe(`bounces+${token}@bounces.throughline.test`);
  });

  it('a hard bounce to the return path suppresses the address and marks the send bounced', async () => {
    const { userId, email, mail, key } = await customerWithReviewRequest();
    const response = await postBounce(system, dsn(mail.envelopeFrom, email, '5.1.1', mail.messageId!));
    expect(await response.json()).toMatchObject({ matched: true, userId, status: '5.1.1', permanent: true });
    expect(await system.db.collections.ledger.findOne({ _id: key })).toMatchObject({ providerStatus: 'bounced', providerErrorCode: '5.1.1' });
    expect(await system.db.collections.suppressions.findOne({ kind: 'suppression', userId, channel: 'email' })).toMatchObject({ reason: 'hard-bounce', source: 'bounce:5.1.1' });
    // The next email to this customer is not sent.
    const next = deliveryRequest(userId, { stepId: 'welcome-email', template: 'welcome' });
    expect((await send.deliver(next)).reason).toBe('suppressed:hard-bounce');
  });

  it('a template that cannot render for this customer fails the step for good, naming the variable, and sends nothing', async () => {
    const userId = uniqueId('render');
    const email = `${userId}@example.com`;
    await mergeTraits(system.db.collections.profiles, userId, { email });
    const request = deliveryRequest(userId, { stepId: 'review-request-email', template: 'review-request', data: {} });
    expect(await send.deliver(request)).toEqual({ delivered: false, reason: 'failed:render' });
    expect(await system.db.collections.ledger.findOne({ _id: request.idempotencyKey })).toMatchObject({ detail: expect.stringContaining('undefined variable: event.order_id') });
    expect(system.smtp.messagesTo(email)).toEqual([]);
    // Run again (a retried or replayed step), it finds the decision and does not try again.
    expect(await send.deliver(request)).toEqual({ delivered: false, reason: 'failed:render' });
  });

  it('a delay is recorded and suppresses nothing; a forged or unsigned post is refused', async () => {
    const { userId, email, mail, key } = await customerWithReviewRequest();
    expect((await postBounce(system, dsn(mail.envelopeFrom, email, '4.2.2', mail.messageId!))).status).toBe(200);
    expect(await system.db.collections.ledger.findOne({ _id: key })).toMatchObject({ providerStatus: 'delayed' });
    expect(await system.db.collections.suppressions.countDocuments({ kind: 'suppression', userId })).toBe(0);
    expect((await postBounce(system, dsn(mail.envelopeFrom, email, '5.1.1', mail.messageId!), 'not-the-secret-at-all')).status).toBe(401);
    expect((await postBounce(system, dsn('postmaster@shop.example.com', email, '5.1.1', mail.messageId!))).status).toBe(422);
    expect(await system.db.collections.suppressions.countDocuments({ kind: 'suppression', userId })).toBe(0);
  });
});
