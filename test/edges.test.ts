/**
 * The HTTP edge under malformed input, one case per class found by hand: each is a 4xx naming the
 * field and the limit, or is accepted and stored safely, and nothing answers 5xx.
 */
import { createHmac } from 'node:crypto';
import { gzipSync, deflateSync } from 'node:zlib';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.close());

interface Answer {
  status: number;
  body: { error?: string; problems?: Array<{ field: string; message: string }>; rejected?: Array<{ index: number; problems: Array<{ field: string; message: string }> }> };
}

async function send(path: string, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): Promise<Answer> {
  const response = await fetch(new URL(path, system.httpUrl), { method, headers, ...(method === 'GET' ? {} : { body }) });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : { error: text } };
}

const basic = () => `Basic ${Buffer.from(`${system.writeKey}:`).toString('base64')}`;
const segmentApi = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  send(path, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json', authorization: basic(), ...headers });
const admin = (path: string, body: unknown) =>
  send(path, JSON.stringify(body), { 'content-type': 'application/json', authorization: `Bearer ${system.adminToken}` });
const fields = (answer: Answer) => (answer.body.problems ?? []).map((p) => p.field);

/** JSON text nested `depth` deep (JSON.stringify itself overflows the stack long before 10,000). */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}"leaf"${'}'.repeat(depth)}`;

describe('Segment API: bad input is a 400 naming the field and the limit', () => {
  it('properties nested 10,000 deep', async () => {
    const event = (depth: number) => `{"type":"track","userId":"${uniqueId('deep')}","event":"Product Viewed","properties":${nested(depth)}}`;
    const batch = await segmentApi('/v1/batch', `{"batch":[${event(10_000)}]}`);
    expect(batch.status).toBe(400);
    expect(batch.body.problems).toEqual([{ field: `batch.0.properties${'.a'.repeat(29)}`, message: 'nested deeper than 32 levels' }]);
    // /v1/track takes 32 KB: 5,000 levels fit.
    const single = await segmentApi('/v1/track', event(5_000));
    expect(single.status).toBe(400);
    expect(single.body.problems![0]!.message).toBe('nested deeper than 32 levels');
  });

  it('a lone surrogate or a control character in an id', async () => {
    const surrogate = await segmentApi('/v1/track', `{"userId":"u\\ud800","event":"Checkout Started"}`);
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.problems).toEqual([{ field: 'userId', message: expect.stringContaining('well-formed Unicode') }]);
    const nul = await segmentApi('/v1/identify', { userId: 'u\u0000x', traits: {} });
    expect(nul.status).toBe(400);
    expect(fields(nul)).toEqual(['userId']);
  });

  it('a userId of 1,000 characters, where 255 bytes still start the journey', async () => {
    const long = await segmentApi('/v1/track', { userId: 'u'.repeat(1_000), event: 'Checkout Started', properties: { cart_id: 'c' } });
    expect(long.status).toBe(400);
    expect(long.body.problems).toEqual([{ field: 'userId', message: 'must be at most 255 bytes of UTF-8' }]);

    const longest = `${uniqueId('max')}-`.padEnd(255, 'x');
    expect((await segmentApi('/v1/track', { userId: longest, event: 'Checkout Started', properties: { cart_id: 'c' } })).status).toBe(200);
    await system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', longest)).describe();
  });

  it('trait keys the store refuses, at any depth (NUL, ".", a leading "$"), and arrays in arrays; white space at a top-level key\'s edge', async () => {
    const userId = uniqueId('keys');
    for (const [traits, field] of [
      [{ 'na\u0000me': 'x' }, 'traits.na\u0000me'],
      [{ address: { 'st.': 'Main' } }, 'traits.address.st.'],
      [{ n: { $x: 1 } }, 'traits.n.$x'],
      [{ list: [{ $y: 1 }] }, 'traits.list.0.$y'],
      [{ matrix: [[1, 2]] }, 'traits.matrix.0'],
      [{ '\t': 'x' }, 'traits.\t'],
      [{ 'plan ': 'x' }, 'traits.plan '],
      [{ '\u00a0plan': 'x' }, 'traits.\u00a0plan'],
    ] as const) {
      const answer = await segmentApi('/v1/identify', { userId, traits });
      expect(answer.status, field).toBe(400);
      expect(fields(answer)).toEqual([field]);
    }
    expect(await system.db.collections.profiles.countDocuments({ _id: userId })).toBe(0);
    // Inside a trait's value such keys are ordinary field names.
    expect((await segmentApi('/v1/identify', { userId, traits: { address: { ' street ': 'Main' } } })).status).toBe(200);
  });

  it('__proto__ as a key anywhere is named, not "not valid JSON"', async () => {
    const answer = await segmentApi('/v1/track', '{"userId":"p1","event":"E","properties":{"a":{"__proto__":{"admin":true}}}}');
    expect(answer.status).toBe(400);
    expect(answer.body.problems).toEqual([{ field: 'properties.a.__proto__', message: '"__proto__" is not allowed as a key' }]);
  });

  it('an event dated far in the future is taken as received: it cannot pin a trait', async () => {
    const userId = uniqueId('future');
    expect((await segmentApi('/v1/identify', { userId, traits: { plan: 'pinned' }, timestamp: '9999-12-31T00:00:00Z' })).status).toBe(200);
    expect((await segmentApi('/v1/identify', { userId, traits: { plan: 'later' } })).status).toBe(200);
    const profile = await system.db.collections.profiles.findOne({ _id: userId });
    expect(profile?.traits.plan).toBe('later');
  });

  it('more than 2,500 events in a batch: 400 with the limit', async () => {
    const batch = Array.from({ length: 2_501 }, () => ({ type: 'track', userId: 'u', event: 'E' }));
    const answer = await segmentApi('/v1/batch', { batch });
    expect(answer.status).toBe(400);
    expect(answer.body.problems).toEqual([{ field: 'batch', message: 'at most 2500 events in one call' }]);
  });
});

describe('event properties', () => {
  it('keys and values no document field may hold still reach the journey and its conversion record', async () => {
    const userId = uniqueId('props');
    const odd = { $x: 1, 'a.b': [[1, 2]], 'ctl\u0001': 'x' };
    expect((await segmentApi('/v1/track', { userId, event: 'Checkout Started', properties: { cart_id: 'c-odd', ...odd } })).status).toBe(200);
    expect((await segmentApi('/v1/track', { userId, event: 'Order Completed', properties: { order_id: 'o-odd', ...odd } })).status).toBe(200);
    const result = await system.journeyResult(userId);
    expect(result.steps.map((s) => s.outcome)).toContain('converted:Order Completed');
    const conversion = await system.db.collections.conversions.findOne({ userId });
    expect(JSON.parse(conversion!.event.properties)).toEqual({ order_id: 'o-odd', ...odd });
  });
});

describe('groups', () => {
  it('a groupId with "." or "$" is one key on the profile; NUL or __proto__ is refused', async () => {
    const userId = uniqueId('grp');
    expect((await segmentApi('/v1/group', { userId, groupId: 'acme.com', traits: { plan: 'pro' } })).status).toBe(200);
    expect((await segmentApi('/v1/group', { userId, groupId: '$x', traits: { seats: 3 } })).status).toBe(200);
    const profile = await system.db.collections.profiles.findOne({ _id: userId });
    expect(profile?.traits.groups).toEqual({ 'acme%2Ecom': { plan: 'pro' }, '%24x': { seats: 3 } });

    for (const groupId of ['a\u0000b', '__proto__']) {
      const answer = await segmentApi('/v1/group', { userId, groupId, traits: {} });
      expect(answer.status, groupId).toBe(400);
      expect(fields(answer)).toEqual(['groupId']);
    }
  });
});

describe('a batch with one bad event', () => {
  it('accepts the good ones and reports the bad one by index, with a 200', async () => {
    const [good, bad] = [uniqueId('good'), uniqueId('bad')];
    const answer = await segmentApi('/v1/batch', {
      batch: [
        { type: 'identify', userId: good, traits: { email: `${good}@example.com` } },
        { type: 'identify', userId: bad, traits: { address: { 'st.': 'Main' } } },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.rejected).toEqual([{ index: 1, problems: [{ field: 'batch.1.traits.address.st.', message: 'keys may not contain "."' }] }]);
    expect(await system.db.collections.profiles.countDocuments({ _id: good })).toBe(1);
    expect(await system.db.collections.profiles.countDocuments({ _id: bad })).toBe(0);
  });

  it('refuses a trait whose text holds a NUL, however deep, which the store cannot keep (not a 503 on every retry)', async () => {
    const [good, bad, worse] = [uniqueId('good'), uniqueId('nul'), uniqueId('nul')];
    const answer = await segmentApi('/v1/batch', {
      batch: [
        { type: 'identify', userId: good, traits: { note: 'a%b' } },
        { type: 'identify', userId: bad, traits: { note: 'a\u0000b' } },
        { type: 'group', userId: worse, groupId: 'g1', traits: { tags: ['ok', { deep: '\u0000' }] } },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.rejected).toEqual([
      { index: 1, problems: [{ field: 'batch.1.traits.note', message: 'text may not contain NUL characters' }] },
      { index: 2, problems: [{ field: 'batch.2.traits.tags.1.deep', message: 'text may not contain NUL characters' }] },
    ]);
    expect(await system.db.collections.profiles.findOne({ _id: good })).toMatchObject({ traits: { note: 'a%b' } });
  });
});

describe('concurrent first writes for a new customer', () => {
  it('ten identifies and ten consent records at once all succeed', async () => {
    const userId = uniqueId('race');
    const identifies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => segmentApi('/v1/identify', { userId, traits: { [`t${i}`]: i } })),
    );
    expect(identifies.map((a) => a.status)).toEqual(Array(10).fill(200));
    const consentFor = uniqueId('race-consent');
    const consents = await Promise.all(
      Array.from({ length: 10 }, (_, i) => admin('/admin/consent', { userId: consentFor, channel: 'email', granted: i % 2 === 0 })),
    );
    expect(consents.map((a) => a.status)).toEqual(Array(10).fill(201));
  });
});

describe('compressed and mislabelled bodies', () => {
  const batchFor = (userId: string) => JSON.stringify({ batch: [{ type: 'identify', userId, traits: { plan: 'gz' } }] });

  it('gzip labelled form-encoded (RudderStack) and deflate are read as JSON', async () => {
    for (const [encoding, encode] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const userId = uniqueId(encoding);
      const answer = await send('/v1/batch', encode(batchFor(userId)), {
        'content-type': 'application/x-www-form-urlencoded', 'content-encoding': encoding, authorization: basic(),
      });
      expect(answer.status, encoding).toBe(200);
      expect((await system.db.collections.profiles.findOne({ _id: userId }))?.traits.plan).toBe('gz');
    }
  });

  it('a zip bomb is a 413 once decoded past the limit; unknown encodings 415; corrupt gzip 400', async () => {
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"batch":[{"type":"track","userId":"u","event":"'), Buffer.alloc(100 * 1024 * 1024, 'a')]));
    expect(bomb.length).toBeLessThan(500 * 1024);
    const before = process.memoryUsage().rss;
    const answer = await send('/v1/batch', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic() });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toBe('body is larger than 500 KB (counted after decompression)');
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);

    expect((await send('/v1/batch', batchFor('u'), { 'content-type': 'application/json', 'content-encoding': 'br', authorization: basic() })).status).toBe(415);
    expect((await send('/v1/batch', Buffer.from('not gzip at all'), { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic() })).status).toBe(400);
  });
});

describe('CDP webhooks', () => {
  const sign = (body: string | Buffer) => createHmac('sha1', system.config.SEGMENT_WEBHOOK_SECRET!).update(body).digest('hex');

  it('an empty body, or text/plain, on the signed Segment webhook', async () => {
    for (const contentType of ['application/json', 'text/plain']) {
      const empty = await send('/webhooks/segment', '', { 'content-type': contentType, 'x-signature': sign('') });
      expect(empty.status).toBe(400);
      expect(empty.body.problems).toEqual([{ field: '(body)', message: 'body is empty' }]);
    }
    const userId = uniqueId('plain');
    const body = JSON.stringify({ type: 'identify', userId, traits: { plan: 'plain' } });
    expect((await send('/webhooks/segment', body, { 'content-type': 'text/plain', 'x-signature': sign(body) })).status).toBe(200);
  });

  it('the same limits as /v1/batch: 2,500 events, __proto__ keys named', async () => {
    const many = JSON.stringify(Array.from({ length: 2_501 }, () => ({ type: 'track', userId: 'u', event: 'E' })));
    const tooMany = await send('/webhooks/segment', many, { 'content-type': 'application/json', 'x-signature': sign(many) });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error).toBe('at most 2500 events in one call');

    const proto = '{"type":"track","userId":"u","event":"E","properties":{"__proto__":{"x":1}}}';
    const refused = await send('/webhooks/rudderstack', proto, { 'content-type': 'application/json', authorization: `Bearer ${system.config.RUDDERSTACK_WEBHOOK_SECRET}` });
    expect(refused.status).toBe(400);
    expect(fields(refused)).toEqual(['properties.__proto__']);
  });
});

describe('feedback and admin routes', () => {
  it('an unsubscribe link with two tokens is not valid', async () => {
    expect((await send('/unsubscribe?token=a&token=b', '', {}, 'GET')).status).toBe(400);
    expect((await send('/unsubscribe?token=a&token=b', 'List-Unsubscribe=One-Click', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(403);
  });

  it('a Twilio webhook whose Body is a number is not Twilio', async () => {
    const url = new URL('/webhooks/twilio/inbound', system.config.PUBLIC_BASE_URL).href;
    const params = { From: '+15555550100', Body: 5 };
    const signature = twilio.getExpectedTwilioSignature(system.config.TWILIO_AUTH_TOKEN, url, params as unknown as Record<string, string>);
    const answer = await send('/webhooks/twilio/inbound', JSON.stringify(params), { 'content-type': 'application/json', 'x-twilio-signature': signature });
    expect(answer.status).toBe(400);
    expect(fields(answer)).toEqual(['Body']);
  });

  it('a bounce of 2,000 nested MIME parts: 422 with the reason', async () => {
    let body = 'Status: 5.1.1\r\n';
    for (let i = 0; i < 2_000; i++) body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}\r\n--b${i}--\r\n`;
    const mail = `To: bounces+x@bounces.example\r\n${body}`;
    const answer = await send('/webhooks/bounce', mail, { 'content-type': 'message/rfc822', authorization: `Bearer ${system.config.BOUNCE_WEBHOOK_SECRET}` });
    expect(answer.status).toBe(422);
    expect(answer.body.error).toContain('does not parse');
  });

  it('admin userIds follow the same rules as events', async () => {
    for (const userId of ['x'.repeat(500_000 / 10), 'a\u0000b', 'u\ud800']) {
      const answer = await admin('/admin/suppressions', { userId, channel: 'email', reason: 'manual' });
      expect(answer.status).toBe(400);
      expect(fields(answer)).toEqual(['userId']);
    }
  });
});
