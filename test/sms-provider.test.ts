/**
 * The SMS provider, the real twilio SDK: against a contract mock of Twilio's API built from its
 * OpenAPI description, then through the project's stand-in for each error class Twilio documents.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotSentError, PermanentDeliveryError, unclaimed } from '../activities/providers/provider.js';
import { createSmsProvider } from '../activities/providers/sms.js';
import { startTwilioStandIn, type TwilioStandIn } from '../stack/twilio-standin.js';
import { startTwilioContractMock } from './support/twilio-contract-mock.js';

const accountSid = 'AC' + '0123456789abcdef'.repeat(2);

describe("Twilio's API contract (Prism with twilio_api_v2010.json)", () => {
  let mock: Awaited<ReturnType<typeof startTwilioContractMock>>;
  beforeAll(async () => {
    mock = await startTwilioContractMock();
  }, 150_000);
  afterAll(() => mock?.stop());

  it('accepts what the provider sends, from a number and through a Messaging Service with a status callback', async () => {
    const fromNumber = createSmsProvider({ accountSid, authToken: 'token', from: '+14155550100', apiBaseUrl: mock.url });
    const receipt = await fromNumber.send({ to: '+14155550123', body: 'Your cart is waiting' }, 'k1', unclaimed);
    expect(receipt.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/i);
    expect(receipt.detail).toBe('1 segment, GSM-7');

    const viaService = createSmsProvider({
      accountSid, authToken: 'token', from: 'MG' + 'abcdef0123456789'.repeat(2), apiBaseUrl: mock.url, statusCallbackUrl: 'https://hooks.example.com/webhooks/twilio/status',
    });
    expect((await viaService.send({ to: '+14155550123', body: 'Votre panier vous attend ✓' }, 'k2', unclaimed)).detail).toBe('1 segment, UCS-2');
  });

  it('refuses what breaks the contract: a message without To, a request without credentials', async () => {
    const url = `${mock.url}/2010-04-01/Accounts/${accountSid}/Messages.json`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const auth = { authorization: `Basic ${Buffer.from(`${accountSid}:token`).toString('base64')}` };
    const noTo = await fetch(url, { method: 'POST', headers: { ...form, ...auth }, body: 'From=%2B14155550100&Body=hi' });
    expect(noTo.status).toBe(422);
    const noAuth = await fetch(url, { method: 'POST', headers: form, body: 'To=%2B14155550123&From=%2B14155550100&Body=hi' });
    expect(noAuth.status).toBe(401);
  });
});

describe('Twilio error classes (the stand-in answers as Twilio documents them)', () => {
  let twilio: TwilioStandIn;
  beforeAll(async () => {
    twilio = await startTwilioStandIn();
  });
  afterAll(() => twilio?.close());

  const cases = [
    { code: 21610, status: 400, permanent: true, suppress: 'sms-stop', what: 'recipient replied STOP' },
    { code: 21211, status: 400, permanent: true, suppress: undefined, what: "invalid 'To' number" },
    { code: 21614, status: 400, permanent: true, suppress: undefined, what: "'To' is not a mobile number" },
    { code: 20429, status: 429, permanent: false, suppress: undefined, what: 'too many requests' },
    { code: 20500, status: 500, permanent: false, suppress: undefined, what: 'internal error' },
    { code: 20503, status: 503, permanent: false, suppress: undefined, what: 'service unavailable' },
  ];

  it.each(cases)('$code ($what): permanent $permanent, suppresses $suppress', async ({ code, status, permanent, suppress, what }) => {
    const to = `+1415555${String(code).slice(-4)}`;
    twilio.failures.set(to, { status, code, message: what });
    const provider = createSmsProvider({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: '+14155550100', apiBaseUrl: twilio.url });
    const error = await provider.send({ to, body: 'hi' }, `k-${code}`, unclaimed).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect(error instanceof PermanentDeliveryError).toBe(permanent);
    // Twilio answered with an error: the message was not created, so a retry may send it.
    if (!permanent) expect(error).toBeInstanceOf(NotSentError);
    if (error instanceof PermanentDeliveryError) expect(error).toMatchObject({ code: `twilio-${code}`, suppress });
  });
});

describe('Twilio without an answer', () => {
  const send = (apiBaseUrl: string) =>
    createSmsProvider({ accountSid, authToken: 'token', from: '+14155550100', apiBaseUrl, timeoutMs: 500 })
      .send({ to: '+14155550123', body: 'hi' }, 'k-silent', unclaimed)
      .then(() => undefined, (err: unknown) => err);

  it('a request that got no answer in time may have created the message: neither "not sent" nor permanent', async () => {
    const silent = http.createServer(() => undefined); // reads the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const error = await send(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(NotSentError);
      expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('a refused connection certainly sent nothing', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    expect(await send(url)).toBeInstanceOf(NotSentError);
  });
});
