/**
 * Segments on the local stack, each figure beside a baseline measured in the same run, with the load:
 * - PROFILES existing profiles and 10 segment versions (the 4 shipped and 6 below, all reading the
 *   events posted): an event's time from its POST to the membership change it makes, p50 and p99,
 *   one customer at a time and under load; and ingest throughput (HTTP /v1/batch, claims, identities,
 *   journeys routed to Temporal) with the 10 segments against a server computing none, on the same
 *   database and events of the same shape.
 * - EXPIRING of those customers whose engaged-browsing windows (3 views in 7 days) expire in the same
 *   minute: how late after its moment each one's change is applied, by the clock's activity called
 *   as its schedule calls it (every SEGMENT_CLOCK_INTERVAL).
 * - A new segment version's backfill over the existing profiles: profiles/s for BACKFILL_SECONDS,
 *   and the event-to-change latency meanwhile against the latency without it.
 *   npm run bench:segments [-- profiles [expiring]]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pMap from 'p-map';
import { postSegment } from '../client/segment-http.js';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { backfillSegment } from '../segments/backfill.js';
import { applyDueChanges } from '../segments/clock.js';
import { segmentVersions } from '../segments/definitions/index.js';
import { engagedBrowsers } from '../segments/definitions/engaged-browsers.js';
import { deploymentSegments } from '../segments/deployment.js';
import { defineSegment, segmentKey } from '../segments/sdk/segment.js';
import { buildServer } from '../server/server.js';
import { startStack } from '../stack/index.js';
import { startLocalSystem } from '../stack/local-system.js';
import { factId } from '../store/segment-facts.js';
import { changeId, memberId } from '../store/segment-memberships.js';
import { minuteOf } from '../store/segment-dues.js';
import { postInBatches, trackEvent } from './load-generator.js';

installTemporalRuntime();
const PROFILES = Number(process.argv[2] ?? 1_000_000);
const EXPIRING = Math.min(PROFILES, Number(process.argv[3] ?? 100_000));
const EVENTS = Number(process.env.EVENTS ?? 3_000);
const LATENCY_SAMPLES = Number(process.env.LATENCY_SAMPLES ?? 200);
const BACKFILL_SECONDS = Number(process.env.BACKFILL_SECONDS ?? 60);
const BATCH_SIZE = 100;
/** Two, not bench:ingest's four: with four, this machine's dev server answers the routing's calls past DEPENDENCY_TIMEOUT and batches are shed (issue 27). */
const BATCHES_IN_FLIGHT = Number(process.env.BATCHES_IN_FLIGHT ?? 2);
const DAY = 86_400_000;

/** Six more versions beside the shipped four, every one reading what the bench posts. */
const benchSegments = [
  defineSegment({ id: 'benchRecentViewer', version: 1, description: 'a product view today', where: { event: 'Product Viewed', within: '1 day', count: { atLeast: 1 } } }),
  defineSegment({ id: 'benchBigSpender', version: 1, description: 'over 1000 in a year', where: { event: 'Order Completed', within: '365 days', sum: { property: 'revenue', gt: 1000 } } }),
  defineSegment({ id: 'benchRecentBuyer', version: 1, description: 'an order this month', where: { event: 'Order Completed', within: '30 days', count: { atLeast: 1 } } }),
  defineSegment({
    id: 'benchWindowShopper', version: 1, description: 'five views and no order in 30 days',
    where: { all: [{ event: 'Product Viewed', within: '30 days', count: { atLeast: 5 } }, { event: 'Order Completed', within: '30 days', none: true }] },
  }),
  defineSegment({ id: 'benchGermanVip', version: 1, description: 'VIP in Germany', where: { all: [{ trait: 'country', equals: 'DE' }, { inSegment: 'vip' }] } }),
  defineSegment({ id: 'benchSkuFan', version: 1, description: 'two views of the linen range in 14 days', where: { event: 'Product Viewed', within: '14 days', where: { sku: { in: ['sku-0', 'sku-1'] } }, count: { atLeast: 2 } } }),
];
const tenSegments = [...segmentVersions, ...benchSegments];
/** The version the backfill figure is for: new to the deployment, over every existing profile. */
const newVersion = defineSegment({ id: 'benchGermans', version: 1, description: 'in Germany', where: { trait: 'country', equals: 'DE' } });
const ENGAGED = segmentKey(engagedBrowsers);

const run = Date.now().toString(36);
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-'));
const stack = await startStack({ dataDir, log: stackLogger });
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const spread = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms (${sorted.length} samples)`;
};
const profileId = (i: number) => `c${String(i).padStart(7, '0')}`;

// No worker: the ingestion path alone (journeys are routed to Temporal, not run), and the clock's
// and the backfill's activities called here, so the machine's two cores are not shared with journeys.
const system = await startLocalSystem({ temporalAddress: stack.temporalAddress, mongoUrl: stack.mongoUrl, database: `bench_${run}`, taskQueue: `bench-${run}`, segments: tenSegments, startWorker: false });
const baseline = buildServer({ config: system.config, db: system.db, temporal: system.temporal, segments: [] });
await baseline.listen({ host: '127.0.0.1', port: 0 });
const baselineUrl = `http://127.0.0.1:${(baseline.server.address() as { port: number }).port}`;
const { profiles, segmentFacts, segmentMembers, segmentChanges, segmentDues } = system.db.collections;

/** Every version's change for a customer, once made: the time the engine recorded it. */
async function changeAt(segment: string, userId: string, n: number): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const change = await segmentChanges.findOne({ _id: changeId(segment, userId, n) });
    if (change) return change.at.getTime();
    await sleep(50);
  }
  throw new Error(`no change ${n} of ${segment} for ${userId}`);
}

const view = (userId: string, v: number) => trackEvent(userId, 'Product Viewed', { sku: `sku-${v % 4}` }, `m-${run}-${userId}-v${v}`);

/** One customer at a time: two views, then the third (timed from its POST) makes them an engaged browser. */
async function latencies(url: string, customers: string[], until?: () => boolean): Promise<number[]> {
  const samples: number[] = [];
  for (const userId of customers) {
    if (until?.()) break;
    const post = (events: unknown[]) => postSegment(url, system.writeKey, '/v1/batch', { batch: events });
    await post([view(userId, 0), view(userId, 1)]);
    const sent = Date.now();
    const response = await post([view(userId, 2)]);
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    samples.push((await changeAt(ENGAGED, userId, 1)) - sent);
  }
  return samples;
}

/** EVENTS views in batches, three per customer, interleaved; events/s, and each third view's time to its change. */
async function throughput(url: string, customers: string[]): Promise<{ perSecond: number; latency: number[]; retried: number }> {
  const events = [0, 1, 2].flatMap((v) => customers.map((userId) => view(userId, v)));
  const sentAt = new Map<string, number>();
  const retried = { count: 0 };
  const onSent = (batch: unknown[], at: number) => {
    for (const event of batch as ReturnType<typeof view>[]) if (event.messageId.endsWith('-v2')) sentAt.set(event.userId, at);
  };
  const started = performance.now();
  await postInBatches(events, { url, writeKey: system.writeKey, batchSize: BATCH_SIZE, concurrency: BATCHES_IN_FLIGHT, retried, onSent });
  const perSecond = events.length / ((performance.now() - started) / 1000);
  const latency = url === baselineUrl ? [] : await pMap(customers, async (userId) => (await changeAt(ENGAGED, userId, 1)) - sentAt.get(userId)!, { concurrency: 8 });
  return { perSecond, latency, retried: retried.count };
}

/**
 * The expiring customers' state as the engine leaves it after three views a week ago: the facts,
 * the join, and the due instant when the first view leaves the window, all in minute `due`. Written
 * in bulk: a bench's setup, not what is measured.
 */
async function seedExpiring(dueMinuteStart: number) {
  for (let from = 0; from < EXPIRING; from += 2_000) {
    const ids = Array.from({ length: Math.min(2_000, EXPIRING - from) }, (_, i) => profileId(from + i));
    const rows = ids.map((userId, i) => ({ userId, dueAt: new Date(dueMinuteStart + Math.floor(((from + i) / EXPIRING) * 59_000)) }));
    await segmentFacts.insertMany(rows.flatMap(({ userId, dueAt }) => [0, 1, 2].map((v) => {
      const messageKey = `${system.writeKey}:seed-${userId}-${v}`;
      return { _id: factId(userId, messageKey), userId, messageKey, event: 'Product Viewed', at: new Date(dueAt.getTime() - 7 * DAY + v * 3_600_000), properties: '{}' };
    })), { ordered: false });
    const joined = (dueAt: Date) => new Date(dueAt.getTime() - 7 * DAY + 2 * 3_600_000);
    await segmentMembers.insertMany(rows.map(({ userId, dueAt }) => ({ _id: memberId(ENGAGED, userId), segment: ENGAGED, userId, member: true, n: 1, since: joined(dueAt), decidedBy: 'seeded' })), { ordered: false });
    await segmentChanges.insertMany(rows.map(({ userId, dueAt }) => ({
      _id: changeId(ENGAGED, userId, 1), segment: ENGAGED, memberId: memberId(ENGAGED, userId), userId, n: 1, change: 'joined' as const, at: joined(dueAt),
      day: joined(dueAt).toISOString().slice(0, 10), decidedBy: 'seeded', cause: 'seeded',
    })), { ordered: false });
    await segmentDues.insertMany(rows.map(({ userId, dueAt }) => ({ _id: `${userId}|${dueAt.toISOString()}`, userId, minute: minuteOf(dueAt), dueAt })), { ordered: false });
  }
}

try {
  console.log(`segments bench: ${PROFILES} profiles, ${tenSegments.length} segment versions, ${EXPIRING} windows expiring in one minute (${stack.store}); load ${load()}`);
  let started = performance.now();
  for (let from = 0; from < PROFILES; from += 5_000) {
    const docs = Array.from({ length: Math.min(5_000, PROFILES - from) }, (_, i) => ({ _id: profileId(from + i), traits: { country: (from + i) % 5 === 0 ? 'DE' : 'US' }, updatedAt: new Date() }));
    await profiles.insertMany(docs, { ordered: false });
  }
  const profileRate = PROFILES / ((performance.now() - started) / 1000);
  console.log(`  profiles written: ${profileRate.toFixed(0)}/s (setup)`);
  // Customers for the event figures: profiles past the expiring ones, none used twice.
  let next = EXPIRING;
  const take = (count: number) => Array.from({ length: count }, () => profileId(next++ % PROFILES));

  console.log(`\nevent -> membership change (engagedBrowsers joins at the third view), one customer at a time:`);
  const quiet = await latencies(system.httpUrl, take(LATENCY_SAMPLES));
  console.log(`  10 segments:                ${spread(quiet)}  (target p99 < 1000 ms); load ${load()}`);

  console.log(`\ningest throughput, ${EVENTS} Product Viewed in batches of ${BATCH_SIZE}, ${BATCHES_IN_FLIGHT} in flight:`);
  const none = await throughput(baselineUrl, take(Math.ceil(EVENTS / 3)));
  console.log(`  baseline, no segments:      ${none.perSecond.toFixed(0)} events/s (${none.retried} batches retried after a 503); load ${load()}`);
  const ten = await throughput(system.httpUrl, take(Math.ceil(EVENTS / 3)));
  console.log(`  10 segments:                ${ten.perSecond.toFixed(0)} events/s, ratio ${(ten.perSecond / none.perSecond).toFixed(2)} (target >= 0.8; ${ten.retried} batches retried after a 503); load ${load()}`);
  console.log(`  event -> change under this load: ${spread(ten.latency)}`);

  // The expiring windows' minute: far enough ahead for the seeding (six documents a customer, at
  // the rate the profiles were written) to finish before it.
  const seedMs = ((6 * EXPIRING) / profileRate) * 1_500;
  const dueMinuteStart = Math.ceil((Date.now() + 30_000 + seedMs) / 60_000) * 60_000;
  started = performance.now();
  await seedExpiring(dueMinuteStart);
  console.log(`\n(${EXPIRING} expiring customers seeded in ${((performance.now() - started) / 1000).toFixed(0)} s, ${((dueMinuteStart - Date.now()) / 1000).toFixed(0)} s before their minute: setup)`);
  console.log(`${EXPIRING} windows expiring in the minute from ${new Date(dueMinuteStart).toISOString()}, the clock every ${system.config.SEGMENT_CLOCK_INTERVAL / 1000} s:`);
  const clockEngine = deploymentSegments(system.db, system.config, tenSegments);
  let clockRuns = 0;
  const lastDue = dueMinuteStart + 59_000;
  while (Date.now() < lastDue + 120_000) {
    const tick = Date.now();
    await applyDueChanges(system.db, clockEngine);
    clockRuns++;
    if (tick > lastDue && (await segmentDues.countDocuments({ minute: minuteOf(new Date(dueMinuteStart)) })) === 0) break;
    await sleep(Math.max(0, system.config.SEGMENT_CLOCK_INTERVAL - (Date.now() - tick)));
  }
  const left = await segmentChanges.find({ segment: ENGAGED, n: 2 }, { projection: { userId: 1, at: 1 } }).toArray();
  const dueOf = (userId: string) => dueMinuteStart + Math.floor((Number(userId.slice(1)) / EXPIRING) * 59_000);
  const lateness = left.map((c) => c.at.getTime() - dueOf(c.userId));
  const last = Math.max(...left.map((c) => c.at.getTime()));
  console.log(`  applied: ${left.length} of ${EXPIRING} left, in ${clockRuns} clock runs; late after their moment ${spread(lateness)}`);
  console.log(`  the last change ${((last - lastDue) / 1000).toFixed(1)} s after the last moment (target: each within 60 s); load ${load()}`);

  console.log(`\nbackfill of a new version (${segmentKey(newVersion)}) over the ${PROFILES} profiles, for ${BACKFILL_SECONDS} s:`);
  const withNew = deploymentSegments(system.db, system.config, [...tenSegments, newVersion]);
  const stop = new AbortController();
  const backfillStarted = performance.now();
  const backfill = backfillSegment(system.db, withNew, segmentKey(newVersion), { signal: stop.signal });
  const timer = setTimeout(() => stop.abort(), BACKFILL_SECONDS * 1_000);
  const during = await latencies(system.httpUrl, take(100_000), () => stop.signal.aborted);
  const done = await backfill;
  clearTimeout(timer);
  const seconds = (performance.now() - backfillStarted) / 1000;
  console.log(`  ${done.processed} profiles in ${seconds.toFixed(0)} s: ${(done.processed / seconds).toFixed(0)} profiles/s${done.finished ? ' (finished)' : ''}; load ${load()}`);
  console.log(`  event -> change meanwhile:  ${spread(during)}, against ${spread(quiet)} without`);
  console.log(`\nmachine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
} finally {
  await baseline.close();
  await system.db.db.dropDatabase().catch(() => undefined);
  await system.close();
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
