/**
 * Worker memory with many journeys waiting: N customers enter cart abandonment (its first wait set to
 * a day, so every instance waits), routed as ingestion routes them, to a worker process of its own.
 * Prints how fast they entered, when all were waiting, and the worker's resident memory (peak and at
 * the end), once with the SDK's default workflow cache (`auto`, the baseline) and once with the
 * cache size given (default 500, the worker's default), in the same run, on the same stack.
 *   npm run bench:memory [-- journeys [cacheSize]]
 */
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import pMap from 'p-map';
import { loadConfig } from '../config.js';
import { createRouter } from '../events/router.js';
import { stackLogger } from '../platform/logger.js';
import { connectTemporal } from '../platform/temporal.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { startStack } from '../stack/index.js';
import { projectRoot } from '../stack/paths.js';
import { waitUntil } from '../stack/wait-until.js';
import { openDatabase } from '../store/db.js';
import { workflowsPath } from '../worker.js';
import { journeyVersions } from '../workflows/journeys/index.js';

installTemporalRuntime();
const journeys = Number(process.argv[2] ?? 30_000);
const cacheSize = Number(process.argv[3] ?? 500);
const ENTRIES_IN_FLIGHT = 64;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-memory-'));
const stack = await startStack({ dataDir, log: stackLogger });
const bundlePath = path.join(dataDir, 'workflow-bundle.js');
await writeFile(bundlePath, (await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') })).code);

async function residentBytes(metricsUrl: string): Promise<number | undefined> {
  const text = await fetch(metricsUrl).then((r) => r.text(), () => '');
  const line = text.split('\n').find((l) => l.startsWith('throughline_process_resident_memory_bytes '));
  return line ? Number(line.split(' ')[1]) : undefined;
}

async function run(label: string, cache: number | 'auto') {
  const taskQueue = `bench-memory-${randomBytes(3).toString('hex')}`;
  const port = await getPort();
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    MONGODB_URL: stack.mongoUrl,
    MONGODB_DATABASE: taskQueue.replace(/-/g, '_'),
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKFLOW_BUNDLE: bundlePath,
    WORKER_HTTP_PORT: String(port),
    UNSUBSCRIBE_SECRET: randomBytes(32).toString('base64url'),
    AUDIENCE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
    LOG_LEVEL: 'warn',
    WORKFLOW_CACHE_SIZE: String(cache),
  };
  const worker = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], { cwd: projectRoot, env, stdio: 'inherit' });
  try {
    await measure(label, taskQueue, env, `http://127.0.0.1:${port}/metrics`);
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
}

async function measure(label: string, taskQueue: string, env: Record<string, string | undefined>, metricsUrl: string) {
  await waitUntil(async () => (await residentBytes(metricsUrl)) !== undefined, 60_000, 'the worker');

  const config = loadConfig(env);
  const temporal = await connectTemporal(config);
  const db = await openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE);
  const router = createRouter({ client: temporal, db, taskQueue, journeys: journeyVersions, settings: { cartAbandonment: { reminderDelay: '1 day' } } });
  let peak = 0;
  const sampler = setInterval(() => void residentBytes(metricsUrl).then((bytes) => (peak = Math.max(peak, bytes ?? 0))), 1_000);

  const started = performance.now();
  await pMap(
    Array.from({ length: journeys }, (_, i) => i),
    (i) => {
      const userId = `${taskQueue}-${i}`;
      return router.route({ messageId: `m-${userId}`, event: 'Checkout Started', userId, timestamp: new Date().toISOString(), properties: { cart_id: `c-${i}` } });
    },
    { concurrency: ENTRIES_IN_FLIGHT },
  );
  const entered = (performance.now() - started) / 1000;
  const waitingQuery = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running' AND ThroughlineStep = 'wait-before-reminder'`;
  await waitUntil(async () => (await temporal.workflow.count(waitingQuery)).count >= journeys, 3_600_000, `${journeys} journeys waiting`);
  const allWaiting = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 5_000)); // settled: nothing left to run
  const end = (await residentBytes(metricsUrl)) ?? 0;
  clearInterval(sampler);
  peak = Math.max(peak, end);

  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  console.log(
    `${label}: ${journeys} journeys entered in ${entered.toFixed(0)} s (${(journeys / entered).toFixed(0)}/s), all waiting after ${allWaiting.toFixed(0)} s; worker RSS peak ${mb(peak)}, settled ${mb(end)} (load ${os.loadavg()[0]!.toFixed(2)})`,
  );
  await temporal.connection.close();
  await db.close();
}

try {
  console.log(`load: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);
  await run("WORKFLOW_CACHE_SIZE=auto, the SDK's default (baseline)", 'auto');
  await run(`WORKFLOW_CACHE_SIZE=${cacheSize}`, cacheSize);
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
