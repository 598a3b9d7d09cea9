/**
 * Journeys entered from segments, on the real stack: a membership change starts the journey that
 * listens for it, once, before the event's request is answered; a change its writer could not hand
 * over (Temporal unreachable, the writer dead) is handed over by the recovery schedule, once; the
 * engine's own event names cannot be sent from outside; `explain` says what a run entered on.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deploymentRouter } from '../events/router.js';
import { deploymentSegments } from '../segments/deployment.js';
import { waitUntil } from '../stack/wait-until.js';
import { mergeTraits } from '../store/profiles.js';
import { changeId, memberId } from '../store/segment-memberships.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { inSegment } from '../workflows/sdk/conditions.js';
import { journeyVersions } from '../workflows/journeys/index.js';
import { vipWelcome } from '../workflows/journeys/vip-welcome.js';
import { runCli } from './support/cli.js';
import { segmentVersions } from '../segments/definitions/index.js';
import { segmentKey } from '../segments/sdk/segment.js';
import { handOverPendingChanges } from '../segments/change-dispatch.js';
import { createSegmentEngine } from '../segments/engine.js';
import { leftSegment } from '../workflows/sdk/segment-events.js';
import { segmentBackfillId } from '../platform/maintenance-schedules.js';
import { buildServer } from '../server/server.js';
import { postSegment } from '../client/segment-http.js';
import type { Database } from '../store/db.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
  // Each segment version's backfill starts with the deployment; the tests begin once they are done,
  // so only the test of that race (below) has a backfill reach its customer mid-message.
  await Promise.all(segmentVersions.map((s) => system.temporal.workflow.getHandle(segmentBackfillId(system.config.TEMPORAL_TASK_QUEUE, segmentKey(s))).result()));
});
afterAll(() => system?.close());

const subjects = (userId: string) => system.smtp.messagesTo(`${userId}@example.com`).map((m) => m.subject);

it('an order that makes the customer VIP starts the VIP welcome once, entered on the change', async () => {
  const userId = uniqueId('vip');
  await system.identify(userId, { email: `${userId}@example.com`, first_name: 'Vi' });
  await system.track(userId, 'Order Completed', { revenue: 600 });
  // The journey was started before the order's request was answered: its handle answers now.
  const result = await system.journeyResult(userId, 'vipWelcome');
  expect(result).toMatchObject({ status: 'completed', entry: { event: 'segment:vip:joined', messageId: changeId('vip@1', userId, 1) } });
  expect(subjects(userId)).toEqual(['Welcome to VIP, Vi']);
  expect((await system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, 1) }))?.dispatch).toBeUndefined();

  expect((await system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, 1) }))?.journeys).toEqual({ vipWelcome: 'entered (or reached the instance running)' });

  // Still VIP after the next order: no change, no second welcome.
  await system.track(userId, 'Order Completed', { revenue: 700 });
  const runs = await system.temporal.workflow.count(`WorkflowId = '${journeyWorkflowId('vipWelcome', userId)}'`);
  expect(runs.count).toBe(1);
  expect(subjects(userId)).toEqual(['Welcome to VIP, Vi']);

  const explained = await runCli(['explain', '--user', userId, '--journey', 'vipWelcome'], system.env);
  expect(explained.stdout).toContain(`vipWelcome: entered`);
  expect(explained.stdout).toContain(`on joining segment vip (change ${changeId('vip@1', userId, 1)})`);
  expect(explained.stdout).toMatch(/joined vip@1 .*\n\s+→ vipWelcome: entered/);
});

it('a change that does not enter says why: the re-entry cooldown after leaving VIP and coming back', async () => {
  const userId = uniqueId('again');
  await system.identify(userId, { email: `${userId}@example.com`, vip: true });
  await system.journeyResult(userId, 'vipWelcome');
  await system.identify(userId, { vip: false });
  await system.identify(userId, { vip: true });
  const third = await system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, 3) });
  expect(third).toMatchObject({ change: 'joined', journeys: { vipWelcome: 'not entered: re-entry cooldown of 365 days' } });
  const explained = await runCli(['explain', '--user', userId], system.env);
  expect(explained.stdout).toContain('→ vipWelcome: not entered: re-entry cooldown of 365 days');
  expect(subjects(userId)).toHaveLength(1);
});

it('a change whose hand-over failed is handed over by the recovery schedule, and starts its journey once', async () => {
  const userId = uniqueId('late');
  await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com`, first_name: 'Lu', vip: true }, new Date());
  // A server that takes the change and then loses Temporal before handing it over.
  const router = deploymentRouter(system.temporal, system.db, system.config);
  const unreachable = { hearsChange: router.hearsChange, routeChange: () => Promise.reject(new Error('Temporal gave no answer')) };
  const segments = deploymentSegments(system.db, system.config, undefined, unreachable);
  await expect(segments.traitsChanged(userId, ['vip'], 'identify test:1')).rejects.toThrow('Temporal gave no answer');
  expect(await system.db.collections.segmentMembers.findOne({ _id: memberId('vip@1', userId) })).toMatchObject({ member: true });
  expect((await system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, 1) }))?.dispatch).toBe('pending');

  // The recovery schedule (every second here) hands over changes pending for longer than the 5 s lease.
  await waitUntil(async () => !(await system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, 1) }))?.dispatch, 30_000, 'the change handed over');
  expect(await system.journeyResult(userId, 'vipWelcome')).toMatchObject({ status: 'completed', entry: { messageId: changeId('vip@1', userId, 1) } });
  // Handed over again (a second recovery, the writer coming back): the journey takes it as its own.
  await router.routeChange((await system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, 1) }))!, new Date(Date.now() - 60_000));
  expect((await system.temporal.workflow.count(`WorkflowId = '${journeyWorkflowId('vipWelcome', userId)}'`)).count).toBe(1);
  expect(subjects(userId)).toEqual(['Welcome to VIP, Lu']);
});

it('the recovery hands a customer’s changes over in the order taken, and none after one that failed', async () => {
  // A deployment whose VIP welcome also ends when the customer leaves VIP: both changes are heard.
  const deployed = journeyVersions.map((j) => (j === vipWelcome ? { ...j, exitOn: [leftSegment('vip')] } : j));
  const router = deploymentRouter(system.temporal, system.db, system.config, { journeys: deployed });
  const unreachable = { hearsChange: router.hearsChange, routeChange: () => Promise.reject(new Error('Temporal gave no answer')) };
  // Its changes taken an hour ahead of the clock, so the deployment's own recovery schedule (which
  // takes marks older than its lease) leaves them to this test's hand-overs.
  const ahead = () => Date.now() + 3_600_000;
  const segments = createSegmentEngine(system.db, { segments: segmentVersions, eventRetentionMs: system.config.SEGMENT_EVENT_RETENTION, listener: unreachable, now: ahead });
  const userId = uniqueId('order');
  const change = async (n: number) => (await system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, n) }))!;
  for (const vip of [true, false]) {
    await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com`, vip }, new Date());
    await expect(segments.traitsChanged(userId, ['vip'], `identify test:${vip}`)).rejects.toThrow('Temporal gave no answer');
  }
  expect([(await change(1)).change, (await change(2)).change]).toEqual(['joined', 'left']);

  // Temporal answers the leave but not the join: neither is handed over, so the leave cannot come first.
  const tried: string[] = [];
  const joinRefused = {
    hearsChange: router.hearsChange,
    routeChange: (c: Parameters<typeof router.routeChange>[0], since?: Date) => {
      if (c.userId !== userId) return router.routeChange(c, since);
      tried.push(c.change);
      return c.n === 1 ? Promise.reject(new Error('no answer')) : router.routeChange(c, since);
    },
  };
  const report = await handOverPendingChanges(system.db, joinRefused, new Date(ahead() + 1));
  expect(tried).toEqual(['joined']);
  expect(report.failed.map((f) => f.change)).toContain(changeId('vip@1', userId, 1));
  expect([(await change(1)).dispatch, (await change(2)).dispatch]).toEqual(['pending', 'pending']);

  // The next run hands over both, in order: welcomed, then ended by the leave.
  await handOverPendingChanges(system.db, router, new Date(ahead() + 1));
  expect([(await change(1)).journeys, (await change(2)).journeys]).toEqual([{ vipWelcome: 'entered (or reached the instance running)' }, { vipWelcome: expect.any(String) }]);
  expect((await system.journeyResult(userId, 'vipWelcome')).entry).toMatchObject({ messageId: changeId('vip@1', userId, 1) });
});

it('an entry filter reading segments: only the engaged browsers among new VIPs are welcomed, and the others say why', async () => {
  // A deployment whose VIP welcome is for engaged browsers only (the worker runs the shipped steps).
  const deployed = journeyVersions.map((j) => (j === vipWelcome ? { ...j, entry: { ...j.entry, where: inSegment('engagedBrowsers') } } : j));
  const router = deploymentRouter(system.temporal, system.db, system.config, { journeys: deployed });
  const segments = deploymentSegments(system.db, system.config, undefined, router);
  const [browser, stranger] = [uniqueId('browser'), uniqueId('stranger')];
  for (const userId of [browser, stranger]) await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com`, vip: true }, new Date());
  for (let i = 0; i < 3; i++) await segments.recordEvent(browser, { messageKey: `t:${browser}:${i}`, event: 'Product Viewed', at: new Date(), properties: {} }, 'event test');
  for (const userId of [browser, stranger]) await segments.traitsChanged(userId, ['vip'], 'identify test');
  const outcome = async (userId: string) => (await system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, 1) }))?.journeys?.vipWelcome;
  expect(await outcome(browser)).toBe('entered (or reached the instance running)');
  expect(await outcome(stranger)).toBe('not entered: its entry filter (where) did not hold');
  await system.journeyResult(browser, 'vipWelcome');
  expect((await system.temporal.workflow.count(`WorkflowId = '${journeyWorkflowId('vipWelcome', stranger)}'`)).count).toBe(0);
});

it('refuses a track event named like a segment change, with the reason', async () => {
  const response = await system.post('/v1/track', { userId: uniqueId('spoof'), event: 'segment:vip:joined', properties: {}, messageId: uniqueId('m') });
  expect(response.status).toBe(400);
  expect(JSON.stringify(response.body)).toContain('segment membership changes, which only the engine sends');
});

/**
 * The database, with the first read of `userId` from `collection` held until `release()`: where a
 * message's writer is paused between writing the message and evaluating it. `reached` resolves when
 * the writer gets there.
 */
function holdFirstRead(db: Database, collection: 'segmentMembers' | 'segmentFacts', userId: string) {
  let reach!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  const target = db.collections[collection] as { find(filter: Record<string, unknown>): { toArray(): Promise<unknown[]> } };
  const gated = new Proxy(target, {
    get(collection, prop, receiver) {
      if (prop !== 'find') return Reflect.get(collection, prop, receiver) as unknown;
      return (filter: Record<string, unknown>) => {
        const cursor = collection.find(filter);
        if (held || filter.userId !== userId) return cursor;
        held = true;
        // The cursor reads when asked to, so it reads what is there after the release.
        return { toArray: async () => (reach(), await released, cursor.toArray()) };
      };
    },
  });
  return { db: { ...db, collections: { ...db.collections, [collection]: gated } } as Database, reached, release };
}

it.each(['segmentMembers', 'segmentFacts'] as const)(
  'a join a backfill takes between the order’s write and its writer’s evaluation (held at the %s read) still starts the VIP welcome, once, as the order’s',
  async (heldAt) => {
    const userId = uniqueId('raced');
    await system.identify(userId, { email: `${userId}@example.com`, first_name: 'Ra' });
    const hold = holdFirstRead(system.db, heldAt, userId);
    const server = buildServer({ config: system.config, db: hold.db, temporal: system.temporal });
    const messageId = uniqueId('msg');
    const join = () => system.db.collections.segmentChanges.findOne({ _id: changeId('vip@1', userId, 1) });
    try {
      const url = await server.listen({ host: '127.0.0.1', port: 0 });
      const posted = postSegment(url, system.writeKey, '/v1/track', { userId, event: 'Order Completed', properties: { revenue: 600 }, messageId, timestamp: new Date().toISOString() });
      await hold.reached;
      // A new version's backfill reaches her now: her order is in, so the backfill takes her join.
      await deploymentSegments(system.db, system.config).refresh(userId, 'backfill');
      expect(await join()).toMatchObject({ change: 'joined', cause: 'backfill' });
      hold.release();
      expect((await posted).status).toBe(200);
    } finally {
      await server.close();
    }
    const result = await system.journeyResult(userId, 'vipWelcome');
    expect(result).toMatchObject({ status: 'completed', entry: { event: 'segment:vip:joined', messageId: changeId('vip@1', userId, 1) } });
    expect(await join()).toMatchObject({ cause: `event ${system.writeKey}:${messageId}`, journeys: { vipWelcome: 'entered (or reached the instance running)' } });
    expect((await join())?.dispatch).toBeUndefined();
    expect(await system.db.collections.segmentChanges.countDocuments({ memberId: memberId('vip@1', userId) })).toBe(1);
    expect(subjects(userId)).toEqual(['Welcome to VIP, Ra']);
  },
);
