/**
 * What recognising a duplicate event costs as inbound_events grows: the collection is filled with
 * accepted events to each size, then copies of one already-accepted event are posted through the
 * Segment API one at a time (as a CDP retrying would) and timed. The baseline is the smallest size
 * in the same run; the machine's load is printed beside each figure.
 *   npm run bench:dedupe [-- 1000,10000,30000]
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { postSegment } from '../client/segment-http.js';
import { startStack } from '../stack/index.js';
import { startLocalSystem } from '../stack/local-system.js';
import { trackEvent } from './load-generator.js';

installTemporalRuntime();
const sizes = (process.argv[2] ?? '1000,10000,30000').split(',').map(Number);
const COPIES = Number(process.env.COPIES ?? 200);
const FILL_BATCH = 1_000;

const run = Date.now().toString(36);
const stack = await startStack({ dataDir: await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-')), log: stackLogger });
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

try {
  const system = await startLocalSystem({ temporalAddress: stack.temporalAddress, mongoUrl: stack.mongoUrl, database: `bench_${run}`, taskQueue: `bench-${run}`, startWorker: false });
  try {
    const original = trackEvent('dedupe-bench', 'Product Viewed', { sku: 'LT-114' }, `m-original-${run}`);
    const first = await postSegment(system.httpUrl, system.writeKey, '/v1/track', original);
    if (first.status !== 200) throw new Error(`the original event was answered ${first.status}`);
    let stored = await system.db.collections.inboundEvents.countDocuments();
    let baseline: number | undefined;
    console.log(`duplicate recognition, ${COPIES} copies posted one at a time (${stack.store}):`);
    for (const size of sizes) {
      while (stored < size) {
        const count = Math.min(FILL_BATCH, size - stored);
        const receivedAt = new Date();
        await system.db.collections.inboundEvents.insertMany(
          Array.from({ length: count }, (_, i) => ({ _id: `${system.writeKey}:fill-${run}-${stored + i}`, receivedAt, source: system.writeKey, messageId: `fill-${stored + i}`, message: JSON.stringify({ type: 'track', event: 'Filler' }) })),
        );
        stored += count;
      }
      const samples: number[] = [];
      for (let i = 0; i < COPIES; i++) {
        const started = performance.now();
        const copy = await postSegment(system.httpUrl, system.writeKey, '/v1/track', original);
        samples.push(performance.now() - started);
        if ((copy.body as { result?: string }).result !== 'duplicate') throw new Error(`copy ${i} was not recognised as a duplicate`);
      }
      samples.sort((a, b) => a - b);
      const p50 = percentile(samples, 50);
      baseline ??= p50;
      console.log(`  ${String(stored).padStart(7)} stored: p50 ${p50.toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms (${(p50 / baseline).toFixed(2)}x the ${sizes[0]} figure); load ${load()}`);
    }
  } finally {
    await system.close();
  }
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
} finally {
  await stack.stop();
}
