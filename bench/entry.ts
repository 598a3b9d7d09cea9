/**
 * Whether entry keeps pace with ingestion: N "Checkout Started" events posted to /v1/batch (100 per
 * batch, 4 in flight), timed from the first POST until all N cart-abandonment journeys wait in their
 * first step (a visibility count). Baseline in the same run, on the same stack: the same journeys
 * started by signalWithStart from a client loop (no HTTP, dedupe or routing), timed the same way.
 * Each phase has a worker of its own (in this process) on a task queue of its own.
 *   npm run bench:entry [-- events]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pMap from 'p-map';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { startStack } from '../stack/index.js';
import { startLocalSystem, type LocalSystem } from '../stack/local-system.js';
import { waitUntil } from '../stack/wait-until.js';
import { postInBatches, startCartJourney, trackEvent } from './load-generator.js';

installTemporalRuntime();
const total = Number(process.argv[2] ?? 10_000);
const CLIENT_CONCURRENCY = 128;
const cart = { cart_id: 'c-1', value: 49, currency: 'USD', products: [{ sku: 'LT-114', name: 'Linen throw', price: 49 }] };
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-'));
const stack = await startStack({ dataDir, log: stackLogger });
const run = Date.now().toString(36);

/** Seconds from `started` until every journey of the phase waits in its first step. */
async function allWaiting(system: LocalSystem, started: number, phase: string): Promise<{ accepted: number; waiting: number }> {
  const accepted = (performance.now() - started) / 1000;
  const query = `TaskQueue = '${system.config.TEMPORAL_TASK_QUEUE}' AND ExecutionStatus = 'Running' AND ThroughlineStep = 'wait-before-reminder'`;
  await waitUntil(async () => (await system.temporal.workflow.count(query)).count >= total, 3_600_000, `${total} journeys waiting (${phase})`);
  return { accepted, waiting: (performance.now() - started) / 1000 };
}

async function phase(name: string, enter: (system: LocalSystem, userIds: string[]) => Promise<void>) {
  const taskQueue = `bench-${name}-${run}`;
  const system = await startLocalSystem({
    temporalAddress: stack.temporalAddress, mongoUrl: stack.mongoUrl, database: `bench_${name}_${run}`, taskQueue,
    journeySettings: { cartAbandonment: { reminderDelay: '1 day' } },
  });
  try {
    const userIds = Array.from({ length: total }, (_, i) => `${name}-${run}-${i}`);
    const loadBefore = load();
    const started = performance.now();
    await enter(system, userIds);
    const { accepted, waiting } = await allWaiting(system, started, name);
    return { accepted, waiting, loadBefore, loadAfter: load() };
  } finally {
    await system.close();
  }
}

try {
  const baseline = await phase('client', (system, userIds) =>
    pMap(
      userIds,
      async (userId) => {
        const event = { messageId: `m-${userId}`, event: 'Checkout Started', userId, timestamp: new Date().toISOString(), properties: cart };
        await startCartJourney(system.temporal, system.config.TEMPORAL_TASK_QUEUE, event, { reminderDelay: '1 day' });
      },
      { concurrency: CLIENT_CONCURRENCY },
    ).then(() => undefined),
  );
  const http = await phase('http', async (system, userIds) => {
    const events = userIds.map((userId) => trackEvent(userId, 'Checkout Started', cart, `m-${userId}`));
    await postInBatches(events, { url: system.httpUrl, writeKey: system.writeKey, batchSize: 100, concurrency: 4 });
  });
  console.log(`${total} Checkout Started -> ${total} cart-abandonment journeys waiting in their first step:`);
  console.log(`  baseline, signalWithStart from a client loop (${CLIENT_CONCURRENCY} in flight): started in ${baseline.accepted.toFixed(0)} s, all waiting after ${baseline.waiting.toFixed(0)} s; load ${baseline.loadBefore} -> ${baseline.loadAfter}`);
  console.log(`  POST /v1/batch (100 per batch, 4 in flight): all accepted after ${http.accepted.toFixed(0)} s, all waiting after ${http.waiting.toFixed(0)} s (target 120 s); load ${http.loadBefore} -> ${http.loadAfter}`);
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; store ${stack.store}`);
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
