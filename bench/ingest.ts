/**
 * Ingestion speed on the local stack, with figures printed, not asserted:
 * - Throughput: events/s from HTTP to journeys started (a "Checkout Started" per customer, in
 *   Segment batches), against a baseline in the same run: the same Temporal calls made directly from
 *   a client loop at the same concurrency, with no HTTP, no dedupe and no routing. Routing a
 *   "Checkout Started" makes two: signalWithStart of cart abandonment, and a signal to the customer's
 *   browse abandonment (which that event ends), answered "not found" when there is none.
 * - Latency: event sent (which includes its acceptance) -> the first email at the SMTP server, for a
 *   journey with no wait before its first send (the welcome series on "Signed Up"): p50 and p99.
 *   npm run bench:ingest [-- events]
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pMap from 'p-map';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { startStack } from '../stack/index.js';
import { startLocalSystem, type LocalSystem } from '../stack/local-system.js';
import { waitUntil } from '../stack/wait-until.js';
import { browseAbandonment } from '../workflows/journeys/browse-abandonment.js';
import { eventSignal, journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { postInBatches, startCartJourney, trackEvent } from './load-generator.js';

installTemporalRuntime();
const total = Number(process.argv[2] ?? 2_000);
const BATCH_SIZE = Number(process.env.BATCH_SIZE ?? 100);
const BATCHES_IN_FLIGHT = Number(process.env.BATCHES_IN_FLIGHT ?? 4);
/** The HTTP path runs up to 32 customers of a batch at once, times the batches in flight. */
const CONCURRENCY = 32 * BATCHES_IN_FLIGHT;
const LATENCY_SAMPLES = Number(process.env.LATENCY_SAMPLES ?? 200);

const run = Date.now().toString(36);
const stack = await startStack({ dataDir: await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-')), log: stackLogger });
const systemOptions = { temporalAddress: stack.temporalAddress, mongoUrl: stack.mongoUrl, database: `bench_${run}`, taskQueue: `bench-${run}` };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const perSecond = (count: number, ms: number) => (count / (ms / 1000)).toFixed(0);

async function throughput(system: LocalSystem) {
  const cart = { cart_id: 'c-1', value: 49, currency: 'USD', products: [{ sku: 'LT-114', name: 'Linen throw', price: 49 }] };
  // Baseline: what routing a "Checkout Started" costs Temporal, called directly.
  const direct = Array.from({ length: total }, (_, i) => `direct-${run}-${i}`);
  let started = performance.now();
  await pMap(
    direct,
    async (userId) => {
      const event = { messageId: `m-${userId}`, event: 'Checkout Started', userId, timestamp: new Date().toISOString(), properties: cart };
      const exitBrowsing = system.temporal.workflow
        .getHandle(journeyWorkflowId(browseAbandonment.id, userId))
        .signal(eventSignal, event)
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
      const start = startCartJourney(system.temporal, systemOptions.taskQueue, event);
      await Promise.all([start, exitBrowsing]);
    },
    { concurrency: CONCURRENCY },
  );
  const baselineMs = performance.now() - started;

  const events = Array.from({ length: total }, (_, i) => trackEvent(`http-${run}-${i}`, 'Checkout Started', cart, `m-http-${run}-${i}`));
  started = performance.now();
  await postInBatches(events, { url: system.httpUrl, writeKey: system.writeKey, batchSize: BATCH_SIZE, concurrency: BATCHES_IN_FLIGHT });
  const httpMs = performance.now() - started;
  console.log(`throughput, ${total} events (Checkout Started -> cart abandonment started):`);
  console.log(`  baseline, the same Temporal calls from a client loop (${CONCURRENCY} in flight): ${perSecond(total, baselineMs)} events/s`);
  console.log(`  HTTP /v1/batch (${BATCH_SIZE} per batch, ${BATCHES_IN_FLIGHT} in flight), dedupe + routing: ${perSecond(total, httpMs)} events/s`);
  console.log(`  ratio HTTP/baseline: ${(baselineMs / httpMs).toFixed(2)}`);
}

async function latency(system: LocalSystem) {
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const userId = `latency-${run}-${i}`;
    const email = `${userId}@example.com`;
    const identify = { type: 'identify', userId, traits: { email }, messageId: `m-id-${userId}` };
    // Timed from the request, not its 2xx: the 2xx comes after the routing, and the email often
    // arrives before the response does.
    const sent = Date.now();
    await postInBatches([identify, trackEvent(userId, 'Signed Up', { method: 'email' }, `m-su-${userId}`)], { url: system.httpUrl, writeKey: system.writeKey, batchSize: 2, concurrency: 1 });
    await waitUntil(() => system.smtp.messagesTo(email).length > 0, 30_000, `welcome email for ${userId}`);
    samples.push(system.smtp.messagesTo(email)[0]!.arrivedAt - sent);
  }
  samples.sort((a, b) => a - b);
  console.log(`latency, event sent -> welcome email at the SMTP server (${LATENCY_SAMPLES} customers, one at a time):`);
  console.log(`  p50 ${percentile(samples, 50)} ms, p99 ${percentile(samples, 99)} ms, max ${samples.at(-1)} ms`);
}

try {
  // Throughput without a worker: both paths only hand work to Temporal, and the machine's cores
  // are not shared with journeys running meanwhile.
  const ingestOnly = await startLocalSystem({ ...systemOptions, startWorker: false });
  try {
    await throughput(ingestOnly);
  } finally {
    await ingestOnly.close();
  }
  const full = await startLocalSystem({ ...systemOptions, taskQueue: `${systemOptions.taskQueue}-latency` });
  try {
    await latency(full);
  } finally {
    await full.close();
  }
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
} finally {
  await stack.stop();
}
