/**
 * Property-based fuzzing of every HTTP route with generated malformed input (fast-check): the server
 * never answers 5xx while its dependencies are up, keeps answering, still takes a valid event
 * afterwards, and stores nothing under a key or id it would refuse. FUZZ_RUNS sets the runs per route
 * group (CI size by default).
 */
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeToken } from '../activities/unsubscribe-token.js';
import { MAX_ID_BYTES, unstorableParts } from '../store/field-rules.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.close());

/** Strings that broke the edge before, among ordinary generated ones. */
const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', 'a.b', '$x', '__proto__', 'constructor', 'u\ud800', '\udfff', 'a\u0000b', '\uFFFD', 'x'.repeat(1_000), '9999-12-31T00:00:00Z', 'acme.com'),
);
const nastyKey = fc.oneof(nastyString, fc.constantFrom('st.', '$where', 'a\u0000', '__proto__', ''));

/** JSON values with nasty keys and strings, up to a few levels deep. */
const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Every UTF-8 byte percent-encoded (encodeURIComponent throws on a lone surrogate). */
const percentEncoded = (text: string) => [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
const validEvent = (type: string) => ({
  type, userId: uniqueId('fz'), anonymousId: uniqueId('anon'), event: 'Product Viewed', previousId: uniqueId('prev'), groupId: 'g1',
  traits: { plan: 'pro', address: { city: 'Lyon' } }, properties: { sku: 'x' }, messageId: uniqueId('m'), timestamp: new Date().toISOString(),
});

/** A valid event with one field replaced, one nested in, or the whole thing replaced. */
const mutatedEvent = fc.oneof(
  fc.record({ type: fc.constantFrom(...TYPES), field: fc.constantFrom('userId', 'anonymousId', 'event', 'previousId', 'groupId', 'traits', 'properties', 'messageId', 'timestamp', 'sentAt', 'context', 'type'), value: nastyValue })
    .map(({ type, field, value }) => ({ ...validEvent(type), [field]: value })),
  fc.record({ type: fc.constantFrom(...TYPES), where: fc.constantFrom('traits', 'properties', 'context'), key: nastyKey, value: nastyValue })
    .map(({ type, where, key, value }) => {
      const event = validEvent(type) as Record<string, unknown>;
      return { ...event, [where]: { ...(event[where] as object), [key]: value } };
    }),
  nastyValue,
);

/** A body as bytes: JSON of a mutated event, broken JSON, deep JSON, raw bytes. */
const body = (of: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: of.map((value) => JSON.stringify(value) ?? '') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.integer({ min: 33, max: 3_000 }).map(deep) },
    { weight: 1, arbitrary: of.map((value) => `${JSON.stringify(value)}`.slice(0, -1)) },
  );

const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data', undefined);

interface Sent {
  status: number;
  text: string;
}

async function post(path: string, bytes: string | Buffer, headers: Record<string, string | undefined>, method = 'POST'): Promise<Sent> {
  const defined = Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
  const response = await fetch(new URL(path, system.httpUrl), { method, headers: defined, ...(method === 'GET' ? {} : { body: bytes }) });
  return { status: response.status, text: await response.text() };
}

/** Runs a property over generated requests: every answer below 500. */
async function fuzz<T>(requests: fc.Arbitrary<T>, send: (request: T) => Promise<Sent>) {
  await fc.assert(
    fc.asyncProperty(requests, async (request) => {
      const answer = await send(request);
      if (answer.status >= 500) throw new Error(`${answer.status}: ${answer.text.slice(0, 300)}`);
    }),
    { numRuns: RUNS },
  );
}

const basic = () => `Basic ${Buffer.from(`${system.writeKey}:`).toString('base64')}`;

describe('every route answers malformed input with a 4xx', () => {
  it('the Segment API: single events and batches, any label, sometimes gzipped', async () => {
    const request = fc.record({
      path: fc.constantFrom(...TYPES.map((t) => `/v1/${t}`), '/v1/batch'),
      bytes: fc.oneof(body(mutatedEvent), body(fc.array(mutatedEvent, { maxLength: 5 }).map((batch) => ({ batch })))),
      contentType,
      gzip: fc.boolean(),
    });
    await fuzz(request, ({ path, bytes, contentType, gzip }) =>
      post(path, gzip ? gzipSync(bytes) : bytes, { 'content-type': contentType, authorization: basic(), 'content-encoding': gzip ? 'gzip' : undefined }),
    );
  });

  it('the CDP webhooks, correctly signed', async () => {
    const request = fc.record({ cdp: fc.constantFrom('segment', 'rudderstack'), bytes: body(fc.oneof(mutatedEvent, fc.array(mutatedEvent, { maxLength: 5 }))), contentType });
    await fuzz(request, ({ cdp, bytes, contentType }) => {
      const auth =
        cdp === 'segment'
          ? { 'x-signature': createHmac('sha1', system.config.SEGMENT_WEBHOOK_SECRET!).update(bytes).digest('hex') }
          : { authorization: `Bearer ${system.config.RUDDERSTACK_WEBHOOK_SECRET}` };
      return post(`/webhooks/${cdp}`, bytes, { 'content-type': contentType, ...auth });
    });
  });

  it('the admin API', async () => {
    const adminBody = fc.oneof(
      nastyValue,
      fc.record({ userId: nastyValue, channel: fc.oneof(fc.constantFrom('email', 'sms', '*'), nastyValue), reason: fc.constantFrom('manual', 'unsubscribe'), granted: fc.oneof(fc.boolean(), nastyValue), category: nastyValue, reasons: nastyValue, source: nastyValue }, { requiredKeys: ['userId', 'channel'] }),
    );
    const request = fc.record({ path: fc.constantFrom('/admin/suppressions', '/admin/consent', '/admin/suppressions/lift'), bytes: body(adminBody), contentType });
    await fuzz(request, ({ path, bytes, contentType }) => post(path, bytes, { 'content-type': contentType, authorization: `Bearer ${system.adminToken}` }));
  });

  it('unsubscribe links, Twilio webhooks (signed) and bounces', async () => {
    const token = () => unsubscribeToken(system.config.UNSUBSCRIBE_SECRET!, { userId: uniqueId('unsub'), channel: 'email', category: 'promotions' });
    const form = fc.array(fc.tuple(nastyKey, fc.oneof(nastyString, fc.constantFrom('STOP', 'START', 'One-Click', 'all'))), { maxLength: 6 });
    const request = fc.oneof(
      fc.record({ kind: fc.constant('unsubscribe' as const), method: fc.constantFrom('GET', 'POST'), query: fc.oneof(fc.constant('valid'), nastyString.map(percentEncoded), fc.constantFrom('token=a&token=b', 'token=%ED%A0%80', 'token=%00', 'token[a]=1')), form, contentType }),
      fc.record({ kind: fc.constant('twilio' as const), path: fc.constantFrom('/webhooks/twilio/inbound', '/webhooks/twilio/status'), form, json: fc.option(nastyValue) }),
      fc.record({ kind: fc.constant('bounce' as const), bytes: fc.oneof(fc.string({ unit: 'binary', maxLength: 500 }), fc.constant('To: bounces+x@b.example\r\nStatus: 5.1.1\r\n')), contentType: fc.constantFrom('message/rfc822', 'text/plain', 'application/json') }),
    );
    await fuzz(request, async (r) => {
      if (r.kind === 'unsubscribe') {
        const query = r.query === 'valid' ? `token=${token()}` : r.query.startsWith('token') ? r.query : `token=${r.query}`;
        return post(`/unsubscribe?${query}`, new URLSearchParams(r.form).toString(), { 'content-type': r.contentType }, r.method);
      }
      if (r.kind === 'twilio') {
        const url = new URL(r.path, system.config.PUBLIC_BASE_URL).href;
        const bytes = r.json === null ? new URLSearchParams(r.form).toString() : (JSON.stringify(r.json) ?? '');
        const params = r.json === null ? Object.fromEntries(new URLSearchParams(bytes)) : {};
        const signature = twilio.getExpectedTwilioSignature(system.config.TWILIO_AUTH_TOKEN, url, params);
        return post(r.path, bytes, { 'content-type': r.json === null ? 'application/x-www-form-urlencoded' : 'application/json', 'x-twilio-signature': signature });
      }
      return post('/webhooks/bounce', r.bytes, { 'content-type': r.contentType, authorization: `Bearer ${system.config.BOUNCE_WEBHOOK_SECRET}` });
    });
  });
});

describe('after the fuzzing', () => {
  it('a valid event still works, and nothing is stored under a refused key or id', async () => {
    const userId = uniqueId('after');
    await system.identify(userId, { email: `${userId}@example.com` });
    await system.track(userId, 'Checkout Started', { cart_id: 'c-after' });
    expect(await system.db.collections.profiles.countDocuments({ _id: userId })).toBe(1);

    const badId = (id: string) => /\p{Cs}|[\u0000-\u001f]/u.test(id) || Buffer.byteLength(id) > MAX_ID_BYTES + 'anonymous:'.length;
    for await (const profile of system.db.collections.profiles.find()) {
      expect(badId(profile._id), profile._id.slice(0, 80)).toBe(false);
      expect(unstorableParts(profile.traits)).toEqual([]);
    }
    for await (const suppression of system.db.collections.suppressions.find()) expect(badId(suppression.userId)).toBe(false);
    for await (const consent of system.db.collections.consentEvents.find()) expect(badId(consent.userId)).toBe(false);
  });
});
