/**
 * Segments computed by the engine, through the public entry points: a membership changes before the
 * event's request is answered; time changes it at its moment (the clock schedule); copies and races
 * between servers neither count an event twice nor leave a wrong membership; a new version's
 * backfill resumes where a dead attempt stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../store/db.js';
import { waitUntil } from '../stack/wait-until.js';
import { createSegmentEngine } from '../segments/engine.js';
import { defineSegment } from '../segments/sdk/segment.js';
import { backfillSegment } from '../segments/backfill.js';
import { memberId } from '../store/segment-memberships.js';
import { customerSegments, formatCustomerSegments } from '../reports/segment-report.js';
import { buildServer } from '../server/server.js';
import { postSegment } from '../client/segment-http.js';
import { isProcessed } from '../store/inbound-events.js';
import { cuttableLink } from './support/cuttable-link.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const DAY = 86_400_000;
let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.close());

const member = async (segment: string, userId: string) => (await system.db.collections.segmentMembers.findOne({ _id: memberId(segment, userId) }))?.member ?? false;
const changes = (segment: string, userId: string) => system.db.collections.segmentChanges.find({ memberId: memberId(segment, userId) }).toArray();
const trackAt = (userId: string, event: string, at: number, properties: Record<string, unknown> = {}, messageId = uniqueId('msg')) =>
  system.post('/v1/track', { userId, event, properties, messageId, timestamp: new Date(at).toISOString() });

describe('segments from events', () => {
  it('joins when the event that decides it is accepted, and a copy of it counts nothing', async () => {
    const userId = uniqueId('browser');
    for (let i = 0; i < 2; i++) await system.track(userId, 'Product Viewed', { sku: `s${i}` });
    expect(await member('engagedBrowsers@1', userId)).toBe(false);
    const third = uniqueId('msg');
    await system.track(userId, 'Product Viewed', { sku: 's2' }, third);
    // No wait: the answer to the third view's request came after its membership change.
    expect(await member('engagedBrowsers@1', userId)).toBe(true);
    await system.track(userId, 'Product Viewed', { sku: 's2' }, third);
    expect(await system.db.collections.segmentFacts.countDocuments({ userId })).toBe(3);
    const [joined, ...more] = await changes('engagedBrowsers@1', userId);
    expect(more).toEqual([]);
    expect(joined).toMatchObject({ change: 'joined', n: 1, cause: `event ${system.writeKey}:${third}`, decidedBy: expect.stringContaining('Product Viewed at least 3 times in the last 7 days') });
    // An order ends it: the segment reads orders too.
    await system.track(userId, 'Order Completed', { revenue: 20 });
    expect(await member('engagedBrowsers@1', userId)).toBe(false);
    expect(formatCustomerSegments(await customerSegments(system.db, userId))).toMatch(/joined engagedBrowsers@1 {2}because .*\n.*left {3}engagedBrowsers@1 {2}because Order Completed in the last 7 days/);
  });

  it('a segment read by another: becoming VIP leaves the newsletter segment', async () => {
    const userId = uniqueId('subscriber');
    await system.identify(userId, { email: `${userId}@example.com`, consent: { categories: { newsletter: { email: true } } } });
    expect(await member('newsletter@1', userId)).toBe(true);
    await system.track(userId, 'Order Completed', { revenue: 300 });
    await system.track(userId, 'Order Completed', { revenue: 250 });
    expect(await member('vip@1', userId)).toBe(true);
    expect(await member('newsletter@1', userId)).toBe(false);
    const [, left] = await changes('newsletter@1', userId);
    expect(left).toMatchObject({ change: 'left', decidedBy: 'in segment vip' });
  });
});

describe('segments by time', () => {
  it('joins lapsed at the moment its last order is 60 days old, applied by the clock schedule', async () => {
    const userId = uniqueId('lapsing');
    const dueAt = Date.now() + 8_000;
    expect((await trackAt(userId, 'Order Completed', dueAt - 60 * DAY, { revenue: 40 })).status).toBe(200);
    expect(await member('lapsed@1', userId)).toBe(false);
    await waitUntil(() => member('lapsed@1', userId), 30_000, 'the lapsed change applied by the clock');
    const [joined] = await changes('lapsed@1', userId);
    expect(joined).toMatchObject({ change: 'joined', cause: 'time' });
    // Applied at its moment: after it, and within the clock's interval (5 s) and a run's time.
    expect(joined!.at.getTime()).toBeGreaterThanOrEqual(dueAt);
    expect(joined!.at.getTime() - dueAt).toBeLessThan(7_000);
  });
});

/**
 * A server whose reads of the facts take a while (a busy database, a GC pause): the evaluation it
 * makes is then older than the state it read, the race the engine's passes must settle.
 */
function slowFactReads(db: Database): Database {
  const facts = new Proxy(db.collections.segmentFacts, {
    get(target, prop, receiver) {
      if (prop !== 'find') return Reflect.get(target, prop, receiver) as unknown;
      return (...args: Parameters<typeof target.find>) => {
        const cursor = target.find(...args);
        return { toArray: async () => {
          const docs = await cursor.toArray();
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
          return docs;
        } };
      };
    },
  });
  return { ...db, collections: { ...db.collections, segmentFacts: facts } };
}

describe('races between servers', () => {
  // Two engines on two connections act on one customer at once, as two server processes do.
  const exactlyThree = defineSegment({ id: 'exactlyThree', version: 1, description: 'three pings exactly', where: { event: 'Ping', within: '1 day', count: { atLeast: 3, atMost: 3 } } });
  let second: Database;
  beforeAll(async () => {
    second = await openDatabase(inject('mongoUrl'), system.db.db.databaseName);
  });
  afterAll(() => second?.close());

  it('no event lost and the membership right, however the evaluations interleave', async () => {
    const engines = [system.db, second].map((db) => createSegmentEngine(slowFactReads(db), { segments: [exactlyThree], eventRetentionMs: 30 * DAY }));
    const customers = Array.from({ length: 40 }, () => uniqueId('racer'));
    await Promise.all(
      customers.flatMap((userId, c) =>
        Array.from({ length: 3 + (c % 2) }, (_, i) => engines[i % 2]!.recordEvent(userId, { messageKey: `race:${userId}:${i}`, event: 'Ping', at: new Date(), properties: {} }, `event ${i}`)),
      ),
    );
    for (const [c, userId] of customers.entries()) {
      expect(await system.db.collections.segmentFacts.countDocuments({ userId })).toBe(3 + (c % 2));
      const log = (await changes('exactlyThree@1', userId)).sort((a, b) => a.n - b.n);
      // Changes alternate, numbered without a gap, and the state is the latest one.
      log.forEach((change, i) => expect(change).toMatchObject({ n: i + 1, change: i % 2 ? 'left' : 'joined' }));
      const expected = c % 2 === 0;
      expect(await member('exactlyThree@1', userId), userId).toBe(expected);
      expect(log.at(-1)?.change ?? 'left').toBe(expected ? 'joined' : 'left');
    }
  });
});

describe('the database lost mid-write', () => {
  it('an event whose fact never reached the database is refused with a 503, not taken; posted again, it counts once', async () => {
    const link = await cuttableLink(inject('mongoUrl'));
    const db = await openDatabase(link.url, system.db.db.databaseName, { serverSelectionTimeoutMS: 1_000 });
    const server = buildServer({ config: system.config, db, temporal: system.temporal });
    try {
      const url = await server.listen({ host: '127.0.0.1', port: 0 });
      const userId = uniqueId('cut');
      const event = { userId, event: 'Product Viewed', properties: { sku: 's1' }, messageId: uniqueId('msg'), timestamp: new Date().toISOString() };
      // The claim lands; the fact's insert is lost with its connection, and so is the retry of a
      // driver that retries writes (FerretDB does not offer it).
      link.dropAt(['insert\0', 'segment_facts\0'], 2);
      const refused = await postSegment(url, system.writeKey, '/v1/track', event);
      expect({ lost: link.dropped() > 0, status: refused.status }).toEqual({ lost: true, status: 503 });
      // Posted again, as a CDP does after a 503: a copy of a claimed event, which the recovery schedule finishes.
      expect((await system.post('/v1/track', event)).status).toBe(200);
      await waitUntil(() => isProcessed(system.db.collections.inboundEvents, system.writeKey, event.messageId), 30_000, 'the recovery schedule finished the event');
      expect((await system.db.collections.segmentFacts.find({ userId }).toArray()).map((f) => f.messageKey)).toEqual([`${system.writeKey}:${event.messageId}`]);
    } finally {
      await server.close();
      await db.close();
      await link.close();
    }
  });
});

describe('backfill', () => {
  it('a new version is evaluated over existing profiles, resuming where a dead or cancelled attempt stopped', async () => {
    const prefix = uniqueId('plan');
    const users = Array.from({ length: 450 }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
    await system.db.collections.profiles.insertMany(users.map((_id, i) => ({ _id, traits: { plan: i % 3 ? 'free' : 'pro' }, updatedAt: new Date() })));
    const pro = defineSegment({ id: `pro${prefix.slice(-8)}`, version: 1, description: 'on the pro plan', where: { trait: 'plan', equals: 'pro' } });
    const engine = createSegmentEngine(system.db, { segments: [pro], eventRetentionMs: 30 * DAY });
    const key = `${pro.id}@1`;
    // The first attempt dies after its first page.
    await expect(backfillSegment(system.db, engine, key, { progress: () => { throw new Error('worker killed'); } })).rejects.toThrow('worker killed');
    const stopped = await system.db.collections.segmentBackfills.findOne({ _id: key });
    expect(stopped?.processed).toBe(200);
    // The second is cancelled (its heartbeat lost): it stops after the page in hand, saved.
    const cancel = new AbortController();
    const cancelled = await backfillSegment(system.db, engine, key, { progress: () => cancel.abort(), signal: cancel.signal });
    expect(cancelled).toMatchObject({ processed: 400, finished: false });
    const seen: number[] = [];
    const done = await backfillSegment(system.db, engine, key, { progress: (processed) => seen.push(processed) });
    expect(seen[0]).toBeGreaterThan(400);
    expect(done.finished).toBe(true);
    expect(done.processed).toBeGreaterThanOrEqual(450);
    const proUsers = users.filter((_, i) => i % 3 === 0);
    expect(await system.db.collections.segmentMembers.countDocuments({ segment: key, member: true })).toBe(proUsers.length);
    // Each member joined once, though the first page was evaluated twice.
    expect(await system.db.collections.segmentChanges.countDocuments({ segment: key })).toBe(proUsers.length);
  });
});
