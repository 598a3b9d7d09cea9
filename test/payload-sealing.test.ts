/**
 * Payloads sealed before Temporal keeps them (platform/payload-codec.ts): a journey's history read
 * without the key holds no email, phone, name or event property; with it, the same history opens.
 * Keys rotate (the newest seals, every one opens), a payload moved or altered does not open, and a
 * plain-text payload from before encryption passes as it is.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { replayHistories } from '../client/replay.js';
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadConfig } from '../config.js';
import { hashPassword } from '../console/passwords.js';
import { ErasedPayloadError, parsePayloadKeys, sealingCodec, SEALED_ENCODING } from '../platform/payload-codec.js';
import { connectTemporal, deploymentCodec } from '../platform/temporal.js';
import { formatPolicyState, userTimeline } from '../reports/timeline.js';
import { suppressionHistory } from '../store/suppressions.js';
import { customerKeyStore } from '../store/customer-keys.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const key = (name: string) => `${name}:${randomBytes(32).toString('base64')}`;
const plain = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const text = (payload: Payload) => Buffer.from(payload.data ?? []).toString();

describe('the codec', () => {
  it('opens what it sealed, with the sealing key named in the payload and nothing readable in it', async () => {
    const codec = sealingCodec(parsePayloadKeys(key('k1')));
    const [sealed] = await codec.encode([plain({ email: 'ana@example.com' })]);
    expect(Buffer.from(sealed!.metadata!.encoding!).toString()).toBe(SEALED_ENCODING);
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe('k1');
    expect(text(sealed!)).not.toContain('ana@example.com');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({ email: 'ana@example.com' });
  });

  it('rotates: the new key seals, the old one still opens what it sealed, and a dropped key is named', async () => {
    const [k1, k2] = [key('k1'), key('k2')];
    const [before] = await sealingCodec(parsePayloadKeys(k1)).encode([plain('sealed last year')]);
    const rotated = sealingCodec(parsePayloadKeys(`${k2},${k1}`));
    const [after] = await rotated.encode([plain('sealed today')]);
    expect(Buffer.from(after!.metadata!['encryption-key-id']!).toString()).toBe('k2');
    expect((await rotated.decode([before!, after!])).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['sealed last year', 'sealed today']);
    await expect(sealingCodec(parsePayloadKeys(k2)).decode([before!])).rejects.toThrow('sealed with key "k1", which PAYLOAD_KEYS does not hold');
  });

  it('refuses a payload altered, or moved under another key name; passes a plain one as it is', async () => {
    const [k1, k2] = [key('k1'), key('k2')];
    const codec = sealingCodec(parsePayloadKeys(`${k1},${k2}`));
    const [sealed] = await codec.encode([plain({ n: 1 })]);
    const altered = { ...sealed!, data: Buffer.from(sealed!.data!).map((b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(codec.decode([altered])).rejects.toThrow();
    const moved = { ...sealed!, metadata: { ...sealed!.metadata, 'encryption-key-id': Buffer.from('k2') } };
    await expect(codec.decode([moved])).rejects.toThrow();
    const old = plain({ recorded: 'before encryption' });
    expect(await codec.decode([old])).toEqual([old]);
  });

  it('PAYLOAD_KEYS is checked at load, with the reason', () => {
    expect(() => loadConfig({ PAYLOAD_KEYS: `k1:${randomBytes(16).toString('base64')}` })).toThrow('key "k1" is 16 bytes; AES-256 takes 32');
    expect(() => loadConfig({ PAYLOAD_KEYS: 'not a key' })).toThrow('each key is name:base64');
    const k = key('k1');
    expect(() => loadConfig({ PAYLOAD_KEYS: `${k},${k}` })).toThrow('a key name is given twice');
    expect(loadConfig({ PAYLOAD_KEYS: '' }).PAYLOAD_KEYS).toBeUndefined();
  });
});

const UI = 'http://127.0.0.1:8233';

describe('a journey in Temporal', () => {
  let system: TestSystem;
  beforeAll(async () => {
    const users = [
      { name: 'ann', role: 'operator', password: await hashPassword('ann-password') },
      { name: 'vic', role: 'viewer', password: await hashPassword('vic-password') },
    ];
    system = await startTestSystem({
      journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' } },
      env: { CONSOLE_USERS: JSON.stringify(users), CONSOLE_SECRET: 'a-console-secret-of-at-least-32-characters', TEMPORAL_UI_ORIGINS: UI },
    });
  });
  afterAll(() => system?.close());

  it('keeps a history that shows nothing personal without the key, and opens with it', async () => {
    const userId = uniqueId('sealed');
    await system.identify(userId, { email: `${userId}@example.com`, phone: '+14155550123', first_name: 'Zelda', consent: { sms: true } });
    await system.track(userId, 'Checkout Started', { cart_url: 'https://shop.example/cart/zelda-secret-cart', value: 73 });
    const handle = system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId));
    const result = (await handle.result()) as { status: string };
    expect(result.status).toBe('completed');

    // What anyone reaching Temporal reads: the raw history, through a client without the key.
    const stranger = new Client({ connection: system.temporal.connection });
    const history = await stranger.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId)).fetchHistory();
    const payloads: Payload[] = [];
    const indexed: Payload[] = [];
    // Search attributes and patch markers stay readable by design (Temporal indexes and matches them):
    // they hold ids and step names, never what the customer is.
    const collect = (value: unknown, into = payloads): void => {
      if (!value || typeof value !== 'object') return;
      if ('data' in value && 'metadata' in value && (value as Payload).metadata?.encoding) return void into.push(value as Payload);
      for (const [name, child] of Object.entries(value)) collect(child, ['searchAttributes', 'markerRecordedEventAttributes'].includes(name) ? indexed : into);
    };
    collect(history.events);
    expect(payloads.length).toBeGreaterThan(3);
    expect(new Set(payloads.map((p) => Buffer.from(p.metadata!.encoding!).toString()))).toEqual(new Set([SEALED_ENCODING]));
    const raw = [...payloads, ...indexed].map(text).join('\n');
    for (const personal of [`${userId}@example.com`, '+14155550123', 'Zelda', 'zelda-secret-cart']) expect(raw).not.toContain(personal);

    // A journey's payloads are sealed with its customer's own key, which names nobody.
    expect(payloads.every((p) => p.metadata!['customer-key-id'] && !p.metadata!['encryption-key-id'])).toBe(true);
    expect(payloads.map(text).join('\n')).not.toContain(userId);
    // With the keys, the same history opens: the entry event's properties are there.
    const opened = await deploymentCodec(system.config, system.db)!.decode(payloads);
    expect(opened.map(text).join('\n')).toContain('zelda-secret-cart');

    // The web UI's codec endpoint opens them for an operator (the admin token, or a console
    // session); nobody else, and from no other origin.
    const wire = { payloads: payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data!).toString('base64') })) };
    const decode = (headers: Record<string, string>) =>
      fetch(`${system.httpUrl}/console/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: UI, ...headers }, body: JSON.stringify(wire) });
    const readable = async (response: Response) => ((await response.json()) as typeof wire).payloads.map((p) => Buffer.from(p.data, 'base64').toString()).join('\n');
    expect((await decode({})).status).toBe(401);
    expect((await decode({ cookie: await signIn('vic', 'vic-password') })).status).toBe(401);
    const byToken = await decode({ authorization: `Bearer ${system.adminToken}` });
    expect(byToken.status).toBe(200);
    expect(byToken.headers.get('access-control-allow-origin')).toBe(UI);
    expect(await readable(byToken)).toContain('zelda-secret-cart');
    const bySession = await decode({ cookie: await signIn('ann', 'ann-password') });
    expect(bySession.status).toBe(200);
    expect(await readable(bySession)).toContain('zelda-secret-cart');
    const preflight = (origin: string) =>
      fetch(`${system.httpUrl}/console/codec/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    expect((await preflight(UI)).headers.get('access-control-allow-credentials')).toBe('true');
    expect((await preflight('https://elsewhere.example')).headers.get('access-control-allow-origin')).toBeNull();
    const bad = await fetch(`${system.httpUrl}/console/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${system.adminToken}` }, body: '{"payloads":[{"data":"not base64!"}]}' });
    expect(bad.status).toBe(400);
  });

  it("erasure ends her journeys and makes every payload of hers unreadable; her records go, the suppression stays", async () => {
    const userId = uniqueId('erased');
    await system.identify(userId, { email: `${userId}@example.com`, first_name: 'Ebba' });
    await system.track(userId, 'Checkout Started', { cart_url: 'https://shop.example/cart/ebba-cart' });
    const finished = system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId));
    await finished.result();
    // A keyed journey waiting three days: her instance for order E-1 runs when she is erased.
    await system.track(userId, 'Order Delivered', { order_id: 'E-1', delivered_at: new Date().toISOString() });
    const waiting = system.temporal.workflow.getHandle(journeyWorkflowId('postPurchaseReview', userId, 'E-1'));
    await expect.poll(async () => (await waiting.describe()).status.name).toBe('RUNNING');
    const historyPayloads = async (handle: typeof waiting) => {
      const found: Payload[] = [];
      const collect = (value: unknown): void => {
        if (!value || typeof value !== 'object') return;
        if ('data' in value && 'metadata' in value && (value as Payload).metadata?.['customer-key-id']) return void found.push(value as Payload);
        for (const child of Object.values(value)) collect(child);
      };
      collect((await handle.fetchHistory()).events);
      return found;
    };
    const [finishedPayloads, waitingPayloads] = await Promise.all([historyPayloads(finished), historyPayloads(waiting)]);
    // One key for both of her journeys, kept wrapped in the store.
    expect(new Set([...finishedPayloads, ...waitingPayloads].map((p) => text({ data: p.metadata!['customer-key-id'] })))).toHaveLength(1);
    expect(await system.db.collections.customerKeys.countDocuments({ customer: userId })).toBe(1);
    expect((await deploymentCodec(system.config, system.db)!.decode(waitingPayloads)).map(text).join('\n')).toContain('E-1');

    const sentBefore = await system.db.collections.ledger.find({ userId }).toArray();
    expect(sentBefore.filter((e) => e.detail !== undefined).length).toBeGreaterThan(0);
    const erased = await system.admin('/admin/customers/erase', { userId, source: 'ticket DSR-1' });
    expect(erased.status).toBe(200);
    expect(await erased.json()).toMatchObject({ journeysEnded: 1, keysDestroyed: 1 });

    expect((await waiting.describe()).status.name).toBe('TERMINATED');
    // Every payload of hers, in the finished history and the ended one, is unreadable for good.
    const codec = deploymentCodec(system.config, system.db)!;
    for (const payload of [...finishedPayloads, ...waitingPayloads]) await expect(codec.decode([payload])).rejects.toThrow(ErasedPayloadError);
    const wire = { payloads: finishedPayloads.slice(0, 1).map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data!).toString('base64') })) };
    const byUi = await fetch(`${system.httpUrl}/console/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${system.adminToken}` }, body: JSON.stringify(wire) });
    expect(Buffer.from(((await byUi.json()) as typeof wire).payloads[0]!.data, 'base64').toString()).toContain('erased');

    const { collections } = system.db;
    expect(await collections.profiles.findOne({ _id: userId })).toBeNull();
    expect(await collections.segmentFacts.countDocuments({ userId })).toBe(0);
    expect(await collections.customerKeys.countDocuments({ customer: userId })).toBe(0);
    // Her sends stay counted, without the provider's words about them.
    const ledger = await collections.ledger.find({ userId }).toArray();
    expect(ledger.map((e) => e.stepId).sort()).toEqual(sentBefore.map((e) => e.stepId).sort());
    expect(ledger.filter((e) => e.detail !== undefined)).toEqual([]);
    const suppressions = await suppressionHistory(collections.suppressions, userId);
    expect(suppressions.map((s) => s.reason)).toEqual(['erasure']);
    // explain says so, and lists her journeys without failing on what it cannot read.
    expect(formatPolicyState(suppressions, [])).toMatch(/erased .*ticket DSR-1.*data key destroyed/);
    // As `explain` reads it: a process of its own, with no key cached from before.
    const cli = await connectTemporal(system.config, system.db);
    const runs = await userTimeline(cli, system.db, userId).finally(() => cli.connection.close());
    expect(runs.map((r) => `${r.journey}:${r.status}:${r.steps.length}`).sort()).toEqual(['cartAbandonment:COMPLETED:0', 'postPurchaseReview:TERMINATED:0']);

    // `replay` (in the environment the CLI has) tells an erased customer's history apart from one
    // this build breaks, and opens another customer's with her key from the database.
    const other = uniqueId('kept');
    await system.identify(other, { email: `${other}@example.com` });
    await system.track(other, 'Checkout Started', { cart_url: 'https://shop.example/cart/kept' });
    const kept = system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', other));
    await kept.result();
    const environment = { PAYLOAD_KEYS: system.env.PAYLOAD_KEYS, MONGODB_URL: system.env.MONGODB_URL, MONGODB_DATABASE: system.env.MONGODB_DATABASE };
    const before = Object.fromEntries(Object.keys(environment).map((name) => [name, process.env[name]]));
    Object.assign(process.env, environment);
    try {
      const histories = [
        { workflowId: 'erased', history: await finished.fetchHistory() },
        { workflowId: 'kept', history: await kept.fetchHistory() },
      ];
      const outcomes = [];
      for await (const outcome of replayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, histories)) outcomes.push(outcome);
      expect(outcomes.sort((a, b) => a.workflowId.localeCompare(b.workflowId))).toEqual([{ workflowId: 'erased', erased: true }, { workflowId: 'kept' }]);
    } finally {
      for (const [name, value] of Object.entries(before)) if (value === undefined) delete process.env[name]; else process.env[name] = value;
    }

    // Run again (a request repeated), it finds nothing left and fails nothing.
    expect(await (await system.admin('/admin/customers/erase', { userId })).json()).toMatchObject({ journeysEnded: 0, keysDestroyed: 0 });
    expect((await suppressionHistory(collections.suppressions, userId)).map((s) => s.reason)).toEqual(['erasure']);
  });

  it('keeps one key for a new customer that four processes seal for at once', async () => {
    const customer = uniqueId('race');
    const processes = [1, 2, 3, 4].map(() => customerKeyStore(system.db.collections.customerKeys, system.config.PAYLOAD_KEYS!, () => customer));
    const keys = await Promise.all(processes.map((p) => p.sealingKey(customer)));
    expect(new Set(keys.map((k) => `${k.id}/${k.key.toString('hex')}`)).size).toBe(1);
    expect(await system.db.collections.customerKeys.countDocuments({ customer })).toBe(1);
  });

  /** Signs in to the console as the browser does (the CSRF token from the form); returns the cookies. */
  async function signIn(name: string, password: string): Promise<string> {
    const form = await fetch(`${system.httpUrl}/console/login`);
    const cookies = form.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const signedIn = await fetch(`${system.httpUrl}/console/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies.join('; ') },
      body: new URLSearchParams({ _csrf: token, name, password }).toString(),
    });
    return [...cookies, ...signedIn.headers.getSetCookie().map((c) => c.split(';')[0]!)].join('; ');
  }
});
