/**
 * A broadcast's rate: N newsletter subscribers (identified through /v1/batch, so the engine puts
 * them in the segment) get one email each from one broadcast occurrence, timed from its start to
 * its last decision, against the delivery path alone at the same concurrency in the same run (the
 * deliver activity called directly for other customers, as bench:policy does), with the worker's
 * memory (this process's peak RSS: the worker runs in it) and the load.
 *   npm run bench:broadcast [-- recipients [baselineSends]]
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import pMap from 'p-map';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../activities/index.js';
import { startBroadcast, statusOf } from '../broadcasts/control.js';
import { defineBroadcast } from '../broadcasts/sdk/broadcast.js';
import { broadcastWorkflowId } from '../broadcasts/sdk/run.js';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { startStack } from '../stack/index.js';
import { startLocalSystem } from '../stack/local-system.js';
import { waitUntil } from '../stack/wait-until.js';
import { mergeTraits } from '../store/profiles.js';
import type { DeliveryOutcome, DeliveryRequest } from '../workflows/sdk/types.js';
import { postInBatches } from './load-generator.js';

installTemporalRuntime();
const recipients = Number(process.argv[2] ?? 10_000);
const baselineSends = Number(process.argv[3] ?? 1_000);
/** What the broadcast workflow keeps in flight (workflows/broadcast.ts). */
const IN_FLIGHT = 20;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-'));
const stack = await startStack({ dataDir, log: stackLogger });
const run = Date.now().toString(36);
const system = await startLocalSystem({
  temporalAddress: stack.temporalAddress, mongoUrl: stack.mongoUrl, database: `bench_${run}`, taskQueue: `bench-${run}`,
  frequencyCap: '1000/24h',
});
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
try {
  const users = Array.from({ length: recipients }, (_, i) => `bc-${run}-${i}`);
  const subscribing = performance.now();
  await postInBatches(
    users.map((userId) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, consent: { categories: { newsletter: { email: true } } } }, messageId: `m-${userId}` })),
    { url: system.httpUrl, writeKey: system.writeKey, batchSize: 100, concurrency: 4 },
  );
  console.log(`${recipients} subscribers identified in ${((performance.now() - subscribing) / 1000).toFixed(1)} s; load ${load()}`);

  // The baseline: the delivery path alone, IN_FLIGHT at a time, for customers outside the segment.
  const others = Array.from({ length: baselineSends }, (_, i) => `base-${run}-${i}`);
  for (const userId of others) await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com` });
  const { activities, close } = await createActivities(system.config, system.db);
  const env = new MockActivityEnvironment({ startToCloseTimeoutMs: 3_600_000, currentAttemptScheduledTimestampMs: Date.now() });
  const baseStarted = performance.now();
  await pMap(others, async (userId) => {
    const request: DeliveryRequest = {
      idempotencyKey: `base/${userId}`, journeyId: 'bench', stepId: 'step', workflowId: `base/${userId}`, userId,
      category: 'promotions', data: {}, firstAttemptAt: new Date().toISOString(), channel: 'email', template: 'weekly-newsletter',
    };
    const outcome = (await env.run(activities.deliver, request)) as DeliveryOutcome;
    if (!outcome.delivered) throw new Error(`not sent: ${outcome.reason}`);
  }, { concurrency: IN_FLIGHT });
  const baseRate = baselineSends / ((performance.now() - baseStarted) / 1000);
  close();
  const baseLoad = load();

  const definition = defineBroadcast({
    id: 'bench-sale', description: 'the bench', segment: 'newsletter',
    send: { channel: 'email', template: 'weekly-newsletter', category: 'promotions' },
  });
  peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  const started = performance.now();
  await startBroadcast(system.temporal, system.config, definition, run);
  const workflowId = broadcastWorkflowId('bench-sale', run);
  await waitUntil(async () => (await statusOf(system.temporal, workflowId))?.state === 'done', recipients * 1_000, 'the broadcast done');
  const seconds = (performance.now() - started) / 1000;
  const status = (await statusOf(system.temporal, workflowId))!;
  const runs = await system.temporal.workflow.getHandle(workflowId).describe();
  const rate = recipients / seconds;
  console.log(`broadcast of ${recipients}: ${seconds.toFixed(1)} s, ${rate.toFixed(0)} emails/s; counts ${JSON.stringify(status.counts)}; load ${load()}`);
  console.log(`delivery path alone, ${IN_FLIGHT} in flight (baseline, ${baselineSends} sends): ${baseRate.toFixed(0)} emails/s; load ${baseLoad}`);
  console.log(`ratio broadcast/baseline: ${(rate / baseRate).toFixed(2)} (target >= 0.8)`);
  console.log(`emails at the SMTP server: ${system.smtp.messages.length - baselineSends}; last run ${runs.runId} (history ${runs.historyLength} events)`);
  console.log(`process RSS (the worker runs here): ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB during`);
} finally {
  clearInterval(sampler);
  await system.db.db.dropDatabase().catch(() => undefined);
  await system.close();
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
