/**
 * kill -9 under the segments: the worker killed again and again during a new segment version's
 * backfill over existing profiles, then the ingestion server and the worker killed in turn during
 * a burst of events the segments read. No event counted twice or missed, every membership what
 * the events and traits decide, every customer's changes numbered without a gap, each join a
 * journey listens for starting it once (and a backfill's joins none); and the worker killed as a
 * minute's birthdays fall due: each greeted once, entered on that moment's change.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import getPort from 'get-port';
import { backfillOf } from '../../store/segment-backfills.js';
import { memberId } from '../../store/segment-memberships.js';
import { segmentVersions } from '../../segments/definitions/index.js';
import { segmentKey } from '../../segments/sdk/segment.js';
import { waitUntil } from '../../stack/wait-until.js';
import pMap from 'p-map';
import { WorkflowNotFoundError } from '@temporalio/client';
import { journeyWorkflowId } from '../../workflows/sdk/definitions.js';
import { auditEntries, auditSegmentJourneys, auditSegments, birthdaysDueSoon, burstOf, identifyAll, postBurst } from '../support/segment-burst.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { changeId } from '../../store/segment-memberships.js';
import { startTestSystem, uniqueId, type TestSystem } from '../support/system.js';
import { startServerProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const CUSTOMERS = Number(process.env.FAULT_CUSTOMERS ?? 60);
/** Each kill of the worker during the backfill costs its heartbeat timeout: two at CI size, five in the fault suite. */
const KILLS = Number(process.env.FAULT_KILLS ?? 2);
/** Enough that the backfill is still going at each kill (a worker takes a few seconds to start). */
const EXISTING_PROFILES = CUSTOMERS * 20;
const TIMEOUT = 240_000 + CUSTOMERS * 2_000;

let system: TestSystem;
let worker: WorkerProcess | undefined;
let server: { url: string; port: number; process: WorkerProcess } | undefined;

beforeAll(async () => {
  // No worker yet: setup has started each segment version's backfill, which waits for one.
  system = await startTestSystem({ startWorker: false });
});
afterAll(async () => {
  await worker?.kill();
  await server?.process.kill();
  await system?.close();
});

const restartWorker = async () => {
  await worker?.kill();
  worker = startWorkerProcess(system.env);
};
const restartServer = async () => {
  await server?.process.kill();
  const port = server?.port ?? (await getPort({ host: '127.0.0.1' }));
  server = { url: `http://127.0.0.1:${port}`, port, process: startServerProcess({ ...system.env, HTTP_PORT: String(port) }) };
};

it(`${KILLS} kills of the worker during the backfill of ${EXISTING_PROFILES} existing profiles: each evaluated, one change each`, async () => {
  // Customers from before the segments were deployed: profiles with no memberships yet, a third marked VIP by the CDP.
  const profiles = Array.from({ length: EXISTING_PROFILES }, (_, i) => ({ _id: uniqueId(`old${i}`), traits: { vip: i % 3 === 0 }, updatedAt: new Date() }));
  for (let i = 0; i < profiles.length; i += 1000) await system.db.collections.profiles.insertMany(profiles.slice(i, i + 1000));
  const vip = 'vip@1';
  const progress = async () => (await backfillOf(system.db.collections.segmentBackfills, vip)) ?? { processed: 0, finishedAt: undefined };
  await restartWorker();
  const killedAt: number[] = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    const before = (await progress()).processed;
    // Once it has moved on since the last start: a kill during a page, the saved cursor behind it.
    await waitUntil(async () => (await progress()).processed > before, 120_000, 'the backfill moving');
    const state = await progress();
    expect(state.finishedAt).toBeUndefined();
    killedAt.push(state.processed);
    await restartWorker();
  }
  const keys = segmentVersions.map(segmentKey);
  await waitUntil(async () => (await Promise.all(keys.map((k) => backfillOf(system.db.collections.segmentBackfills, k)))).every((b) => b?.finishedAt), TIMEOUT, 'every backfill finished');
  console.log(`backfill kills at ${killedAt.join(', ')} of ${EXISTING_PROFILES} profiles`);

  const members = await system.db.collections.segmentMembers.find({ segment: vip, member: true }, { projection: { userId: 1 } }).toArray();
  const wanted = profiles.filter((p) => p.traits.vip).map((p) => p._id);
  expect(members.map((m) => m.userId).sort()).toEqual(wanted.sort());
  // One change per member, whichever attempt made it: a page evaluated again after a kill changes nothing.
  const changes = await system.db.collections.segmentChanges.find({ segment: vip }, { projection: { memberId: 1, n: 1, change: 1, cause: 1 } }).toArray();
  expect(changes.length).toBe(wanted.length);
  expect(changes.every((c) => c.n === 1 && c.change === 'joined' && c.cause === 'backfill')).toBe(true);
  expect(await system.db.collections.segmentMembers.countDocuments({ _id: memberId(vip, profiles[1]!._id), member: true })).toBe(0);
  // A backfill says what customers already were: none of its joins starts a VIP welcome.
  expect(await system.db.collections.segmentChanges.countDocuments({ segment: vip, dispatch: 'pending' })).toBe(0);
  const welcomed = await pMap(wanted, (userId) => system.temporal.workflow.getHandle(journeyWorkflowId('vipWelcome', userId)).describe().then(
    () => userId,
    (err) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    },
  ), { concurrency: 16 });
  expect(welcomed.filter(Boolean)).toEqual([]);
}, TIMEOUT);

it(`the server and the worker killed in turn, ${KILLS} times each, during a burst of ${CUSTOMERS} customers' events: each counted once, memberships right`, async () => {
  await restartServer();
  await waitUntil(async () => (await fetch(`${server!.url}/readyz`).then((r) => r.ok, () => false)), 60_000, 'the server process ready');
  const { customers, events } = burstOf('burst', CUSTOMERS);
  const step = Math.floor(events.length / (2 * KILLS + 1));
  let next = step;
  let kills = 0;
  const retried = await postBurst(() => server!.url, system.writeKey, events, (taken) => {
    if (taken < next || kills >= 2 * KILLS) return;
    next += step;
    // Alternately the server (events claimed and not yet applied) and the worker (its recovery schedule, the journeys the events start).
    void (kills++ % 2 === 0 ? restartServer() : restartWorker());
  });
  console.log(`burst: ${events.length} events, ${kills} kills, ${retried} events posted more than once`);
  expect(kills).toBe(2 * KILLS);
  const audit = await auditSegments(system.db, system.writeKey, customers);
  expect(audit).toEqual({ unfinished: 0, miscounted: [], wrongMemberships: [], brokenChanges: [] });
  // Every other customer joined VIP: one VIP welcome each, entered on the join, one send decided.
  expect(await auditSegmentJourneys(system.db, system.temporal, customers)).toEqual({ pending: 0, missing: [], extra: [], sends: [] });
}, TIMEOUT);

it(`the worker killed as ${CUSTOMERS} birthdays fall due in the same minute, again while the clock applies them: each greeted once, on the moment's change`, async () => {
  const segment = 'birthdayGreeting-date@1';
  const { due, customers } = birthdaysDueSoon('bday', CUSTOMERS, 20_000);
  await identifyAll(server!.url, system.writeKey, customers);
  const joined = async () => (await pMap(customers, (c) => system.db.collections.segmentChanges.countDocuments({ _id: changeId(segment, c.userId, 1) }), { concurrency: 8 })).filter((n) => n > 0).length;
  expect(await joined()).toBe(0); // their 09:00 is still ahead
  await sleep(due - Date.now() + 500);
  // The minute has come and the clock (every 5 s) is on it: the worker killed, then killed
  // again each time the restarted worker has applied more, while some are still to come.
  const killedAt: number[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    const before = await joined();
    if (before === customers.length) break;
    killedAt.push(before);
    await restartWorker();
    await waitUntil(async () => (await joined()) > before, 120_000, 'the clock applying more of the minute');
  }
  console.log(`birthdays: ${customers.length} due at ${new Date(due).toISOString()}, worker killed with ${killedAt.join(', ')} applied`);
  expect(killedAt.length).toBeGreaterThan(0);
  const audit = await auditEntries(system.db, system.temporal, { journey: 'birthdayGreeting', segment, entered: customers.map((c) => c.userId) }, TIMEOUT / 2);
  expect(audit).toEqual({ pending: 0, missing: [], extra: [], sends: [] });
  // Each greeting arrived once, or (a kill landed while it was at the SMTP server) its outcome is
  // honestly unknown and it arrived at most once: at most one per pooled connection per kill.
  const wrong: string[] = [];
  let unknown = 0;
  for (const c of customers) {
    const arrived = system.smtp.messagesTo(c.traits.email as string).length;
    const entry = await system.db.collections.ledger.findOne({ userId: c.userId, journeyId: 'birthdayGreeting' });
    if (entry?.reason === 'unknown-outcome') unknown++;
    if (entry?.reason === 'unknown-outcome' ? arrived > 1 : arrived !== 1) wrong.push(`${c.userId}: ${arrived} emails, ledger ${entry?.reason}`);
  }
  console.log(`birthdays: unknown outcomes ${unknown} for ${killedAt.length} kills`);
  expect(wrong).toEqual([]);
  expect(unknown).toBeLessThanOrEqual(killedAt.length * Number(system.config.SMTP_MAX_CONNECTIONS));
}, TIMEOUT);
