/**
 * Whether entry keeps pace, for each kind of entry, each beside its baseline in the same run on the
 * same stack. Each phase has a worker of its own (in this process) on a task queue of its own.
 * - Events: N "Checkout Started" posted to /v1/batch (100 per batch, 4 in flight), timed from the
 *   first POST until all N cart-abandonment journeys wait in their first step (a visibility count);
 *   baseline: the same journeys started by signalWithStart from a client loop (no HTTP, dedupe,
 *   segments or routing), timed the same way; and again with payloads in plain text, the codec's
 *   baseline (sealed, the default, each journey's payloads with its customer's key); and again with
 *   no gate on the server's Temporal calls (TEMPORAL_CALLS_IN_FLIGHT as large as the batches' people),
 *   what the gate buys. Each HTTP phase counts the batches answered 503 and posted again.
 * - Segment joins: N identifies marking customers VIP (/v1/batch as above), each a join of the vip
 *   segment that starts the VIP welcome, timed until all N have started; baseline: the same journeys
 *   started by signalWithStart from a client loop.
 * - Dates: N customers whose birthday greeting falls due in the same minute (09:00 in a fixed-offset
 *   zone that puts it there; their profiles and next instants seeded in the store), timed from that
 *   moment until all N greetings have started, with how late each change was applied.
 *   [TEMPORAL_CALLS_IN_FLIGHT=n] npm run bench:entry [-- events [joins [birthdays]]]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DateTime } from 'luxon';
import pMap from 'p-map';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { startStack } from '../stack/index.js';
import { startLocalSystem, type LocalSystem } from '../stack/local-system.js';
import { waitUntil } from '../stack/wait-until.js';
import { insertNew } from '../store/db.js';
import { minuteOf } from '../store/segment-dues.js';
import { changeId } from '../store/segment-memberships.js';
import { vipWelcome } from '../workflows/journeys/vip-welcome.js';
import { JOURNEY } from '../workflows/sdk/search-attributes.js';
import { joinedSegment } from '../workflows/sdk/segment-events.js';
import { postInBatches, startCartJourney, startJourney, trackEvent, zoneWhereLocalTimeIs } from './load-generator.js';

installTemporalRuntime();
const [events, joins, birthdays] = [2, 3, 4].map((i, n) => Number(process.argv[i] ?? process.argv[2] ?? [10_000, 10_000, 10_000][n]));
const CLIENT_CONCURRENCY = 128;
const callsInFlight = process.env.TEMPORAL_CALLS_IN_FLIGHT;
const cart = { cart_id: 'c-1', value: 49, currency: 'USD', products: [{ sku: 'LT-114', name: 'Linen throw', price: 49 }] };
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const seconds = (ms: number) => (ms / 1000).toFixed(1);

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-'));
const stack = await startStack({ dataDir, log: stackLogger });
const run = Date.now().toString(36);

interface Phase {
  name: string;
  count: number;
  /** Enters the customers; resolves when the last is accepted. */
  enter(system: LocalSystem, userIds: string[]): Promise<void>;
  /** The visibility query that counts the phase's journeys once entered. */
  entered(taskQueue: string): string;
  /** Timed from this moment (default: when `enter` is called). */
  from?: () => number;
  /** Configuration of the phase's system beyond the defaults (payloads are sealed by default). */
  env?: Record<string, string>;
}

/** Seconds from the phase's start until `enter` resolved, and until every journey counts. */
async function phase({ name, count, enter, entered, from, env }: Phase) {
  const taskQueue = `bench-${name}-${run}`;
  const system = await startLocalSystem({
    temporalAddress: stack.temporalAddress, mongoUrl: stack.mongoUrl, database: `bench_${name}_${run}`, taskQueue,
    journeySettings: { cartAbandonment: { reminderDelay: '1 day' } },
    // The gate's size to measure, when set where the bench runs (its phases' own env wins).
    env: { ...(callsInFlight ? { TEMPORAL_CALLS_IN_FLIGHT: callsInFlight } : {}), ...env },
  });
  try {
    const userIds = Array.from({ length: count }, (_, i) => `${name}-${run}-${i}`);
    const loadBefore = load();
    const calledAt = Date.now();
    await enter(system, userIds);
    const started = from?.() ?? calledAt;
    const accepted = (Date.now() - started) / 1000;
    await waitUntil(async () => (await system.temporal.workflow.count(entered(taskQueue))).count >= count, 3_600_000, `${count} journeys entered (${name})`);
    return { system, accepted, done: (Date.now() - started) / 1000, loadBefore, loadAfter: load(), userIds };
  } finally {
    if (name !== 'birthdays') await system.close();
  }
}

const waitingInCart = (taskQueue: string) => `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running' AND ThroughlineStep = 'wait-before-reminder'`;
const started = (journey: string) => (taskQueue: string) => `TaskQueue = '${taskQueue}' AND ${JOURNEY.name} = '${journey}'`;
const batches = { batchSize: 100, concurrency: 4 };

try {
  const cartClient = await phase({
    name: 'client', count: events, entered: waitingInCart,
    enter: (system, userIds) =>
      pMap(userIds, async (userId) => {
        const event = { messageId: `m-${userId}`, event: 'Checkout Started', userId, timestamp: new Date().toISOString(), properties: cart };
        await startCartJourney(system.temporal, system.config.TEMPORAL_TASK_QUEUE, event, { reminderDelay: '1 day' });
      }, { concurrency: CLIENT_CONCURRENCY }).then(() => undefined),
  });
  const throughHttp = async (name: string, env?: Record<string, string>) => {
    const retried = { count: 0 };
    const result = await phase({
      name, count: events, entered: waitingInCart, ...(env ? { env } : {}),
      enter: async (system, userIds) => {
        await postInBatches(userIds.map((userId) => trackEvent(userId, 'Checkout Started', cart, `m-${userId}`)), { url: system.httpUrl, writeKey: system.writeKey, ...batches, retried });
      },
    });
    return { ...result, retried: retried.count };
  };
  const cartHttp = await throughHttp('http');
  // The codec's cost: the same entry with payloads in plain text.
  const cartPlain = await throughHttp('http-plain', { PAYLOAD_KEYS: '' });
  // What the gate on Temporal calls buys: every person of every batch calling Temporal at once.
  const cartUngated = await throughHttp('http-ungated', { TEMPORAL_CALLS_IN_FLIGHT: String(batches.concurrency * 100) });

  const joinsClient = await phase({
    name: 'joins-client', count: joins, entered: started(vipWelcome.id),
    enter: (system, userIds) =>
      pMap(userIds, async (userId) => {
        const event = { messageId: changeId('vip@1', userId, 1), event: joinedSegment('vip'), userId, timestamp: new Date().toISOString(), properties: { segment: 'vip', version: 1 } };
        await startJourney(system.temporal, system.config.TEMPORAL_TASK_QUEUE, vipWelcome, event);
      }, { concurrency: CLIENT_CONCURRENCY }).then(() => undefined),
  });
  const retried = { count: 0 };
  const joinsHttp = await phase({
    name: 'joins', count: joins, entered: started(vipWelcome.id),
    enter: async (system, userIds) => {
      const identifies = userIds.map((userId) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, vip: true }, messageId: `m-${userId}`, timestamp: new Date().toISOString() }));
      await postInBatches(identifies, { url: system.httpUrl, writeKey: system.writeKey, ...batches, retried });
    },
  });

  // Profiles and their next instants seeded as the engine leaves them after an identify: the
  // greeting falls due at 09:00 in a zone that puts 09:00 at the start of a minute to come.
  let due = 0;
  const dated = await phase({
    name: 'birthdays', count: birthdays, entered: started('birthdayGreeting'), from: () => due,
    enter: async (system, userIds) => {
      due = Math.ceil((Date.now() + 30_000 + birthdays * 2) / 60_000) * 60_000;
      const timezone = zoneWhereLocalTimeIs(due, '09:00');
      const birthday = `1990${DateTime.fromMillis(due, { zone: timezone }).toISODate()!.slice(4)}`;
      for (let i = 0; i < userIds.length; i += 1000) {
        const slice = userIds.slice(i, i + 1000);
        await system.db.collections.profiles.insertMany(slice.map((_id) => ({ _id, traits: { email: `${_id}@example.com`, birthday, timezone }, updatedAt: new Date() })));
        await insertNew(system.db.collections.segmentDues, slice.map((userId) => ({ _id: `${userId}|${new Date(due).toISOString()}`, userId, minute: minuteOf(new Date(due)), dueAt: new Date(due) })));
      }
      if (Date.now() >= due) throw new Error('seeding outlasted the moment chosen for it: run with fewer birthdays');
      await sleep(due - Date.now());
    },
  });
  // How late each customer's change was applied after the moment.
  const lags = (await pMap(dated.userIds, async (userId) => (await dated.system.db.collections.segmentChanges.findOne({ _id: changeId('birthdayGreeting-date@1', userId, 1) }))!.at.getTime() - due, { concurrency: 16 })).sort((a, b) => a - b);
  await dated.system.close();
  const at = (q: number) => seconds(lags[Math.min(lags.length - 1, Math.floor(q * lags.length))]!);

  console.log(`${events} Checkout Started -> ${events} cart-abandonment journeys waiting in their first step:`);
  console.log(`  baseline, signalWithStart from a client loop (${CLIENT_CONCURRENCY} in flight): started in ${cartClient.accepted.toFixed(0)} s, all waiting after ${cartClient.done.toFixed(0)} s; load ${cartClient.loadBefore} -> ${cartClient.loadAfter}`);
  const http = (phase: typeof cartHttp) => `all accepted after ${phase.accepted.toFixed(0)} s (${phase.retried} batches retried after a 503), all waiting after ${phase.done.toFixed(0)} s`;
  console.log(`  POST /v1/batch (100 per batch, 4 in flight), TEMPORAL_CALLS_IN_FLIGHT ${cartHttp.system.config.TEMPORAL_CALLS_IN_FLIGHT}: ${http(cartHttp)} (${(cartClient.done / cartHttp.done).toFixed(2)}x the baseline; target >= 0.9); load ${cartHttp.loadBefore} -> ${cartHttp.loadAfter}`);
  console.log(`  the same with payloads in plain text: ${http(cartPlain)}; sealed/plain ${(cartPlain.done / cartHttp.done).toFixed(2)}x (target >= 0.95); load ${cartPlain.loadBefore} -> ${cartPlain.loadAfter}`);
  console.log(`  the same with no gate (${cartUngated.system.config.TEMPORAL_CALLS_IN_FLIGHT} calls in flight allowed): ${http(cartUngated)} (${(cartClient.done / cartUngated.done).toFixed(2)}x the baseline); load ${cartUngated.loadBefore} -> ${cartUngated.loadAfter}`);
  console.log(`${joins} customers joining the vip segment at once -> ${joins} VIP welcomes started:`);
  console.log(`  baseline, signalWithStart from a client loop (${CLIENT_CONCURRENCY} in flight): all started after ${joinsClient.done.toFixed(0)} s; load ${joinsClient.loadBefore} -> ${joinsClient.loadAfter}`);
  console.log(`  identifies through POST /v1/batch, each a join handed to the journey: all accepted after ${joinsHttp.accepted.toFixed(0)} s (${retried.count} batches retried after a 503), all started after ${joinsHttp.done.toFixed(0)} s (${(joinsClient.done / joinsHttp.done).toFixed(2)}x the baseline); load ${joinsHttp.loadBefore} -> ${joinsHttp.loadAfter}`);
  console.log(`${birthdays} birthdays due at the same minute -> ${birthdays} greetings started:`);
  console.log(`  changes applied after their moment: p50 ${at(0.5)} s, p99 ${at(0.99)} s, last ${seconds(lags.at(-1)!)} s; all greetings started ${dated.done.toFixed(0)} s after it (target 60 s); load ${dated.loadBefore} -> ${dated.loadAfter}`);
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; store ${stack.store}`);
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
