/**
 * A broadcast's rate: N newsletter subscribers (identified through /v1/batch, so the engine puts
 * them in the segment) get one email each from one broadcast occurrence, timed from its start to
 * its last decision, against the delivery path alone at the same concurrency in the same run (the
 * deliver activity called directly for other customers, as bench:policy does), with the worker's
 * memory (this process's peak RSS: the worker runs in it) and the load. Then the same subscribers
 * put into the summerSale journey by one occurrence of a broadcast into it, timed from its start until
 * every one has entered, against the bare signalWithStart loop starting the same journey for as many
 * other customers at the same concurrency (the journeys' own work, their announcements, runs under
 * both).
 *   npm run bench:broadcast [-- recipients [baselineSends [email|journey|email,journey]]]
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
import { postInBatches, startJourney } from './load-generator.js';
import { summerSale } from '../workflows/journeys/summer-sale.js';
import { broadcastEvent } from '../workflows/sdk/broadcast-events.js';
import { JOURNEY } from '../workflows/sdk/search-attributes.js';

installTemporalRuntime();
const recipients = Number(process.argv[2] ?? 10_000);
const baselineSends = Number(process.argv[3] ?? 1_000);
/** Which halves to run: the figures are 100,000 by email and 10,000 into a journey, so one run each. */
const parts = new Set((process.argv[4] ?? 'email,journey').split(','));
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

  if (parts.has('email')) {
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
  }

  if (parts.has('journey')) {
    // Into a journey: the bare loop first, for other customers, then the broadcast; each until all have entered.
    const entered = async () => (await system.temporal.workflow.count(`TaskQueue = '${system.config.TEMPORAL_TASK_QUEUE}' AND ${JOURNEY.name} = 'summerSale'`)).count;
    // The loop's customers have addresses too, so their journeys send as the broadcast's do.
    const loopCustomers = Array.from({ length: recipients }, (_, i) => `loop-${run}-${i}`);
    await pMap(loopCustomers, (userId) => mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com` }), { concurrency: 16 });
    const loopStarted = performance.now();
    const loadBeforeLoop = load();
    await pMap(loopCustomers, async (userId) => {
      const event = { messageId: `m-${userId}`, event: broadcastEvent('summer-sale'), userId, timestamp: new Date().toISOString(), properties: { broadcast: 'summer-sale', occurrence: run } };
      await startJourney(system.temporal, system.config.TEMPORAL_TASK_QUEUE, summerSale, event);
    }, { concurrency: IN_FLIGHT });
    await waitUntil(async () => (await entered()) >= recipients, recipients * 1_000, 'the loop\'s journeys entered');
    const loopRate = recipients / ((performance.now() - loopStarted) / 1000);
    const loopLoad = `${loadBeforeLoop} -> ${load()}`;
    const intoJourney = defineBroadcast({ id: 'summer-sale', description: 'the bench, into the journey', segment: 'newsletter', send: { journey: 'summerSale' } });
    peakRss = process.memoryUsage().rss;
    const journeyRssBefore = peakRss;
    const journeyStarted = performance.now();
    const loadBeforeJourney = load();
    await startBroadcast(system.temporal, system.config, intoJourney, run);
    const journeyWorkflow = broadcastWorkflowId('summer-sale', run);
    // A query can time out while the worker is busy with the journeys' first steps: ask again.
    await waitUntil(async () => (await statusOf(system.temporal, journeyWorkflow).catch(() => undefined))?.state === 'done', recipients * 1_000, 'the broadcast into the journey done');
    await waitUntil(async () => (await entered()) >= 2 * recipients, recipients * 1_000, 'the broadcast\'s journeys entered');
    const journeyRate = recipients / ((performance.now() - journeyStarted) / 1000);
    const journeyStatus = (await statusOf(system.temporal, journeyWorkflow))!;
    console.log(`broadcast of ${recipients} into a journey: ${journeyRate.toFixed(0)} entered/s; counts ${JSON.stringify(journeyStatus.counts)}; load ${loadBeforeJourney} -> ${load()}`);
    console.log(`bare signalWithStart loop, ${IN_FLIGHT} in flight (baseline, ${recipients} others): ${loopRate.toFixed(0)} entered/s; load ${loopLoad}`);
    console.log(`ratio broadcast/loop: ${(journeyRate / loopRate).toFixed(2)}; process RSS ${(journeyRssBefore / 2 ** 20).toFixed(0)} MiB before, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB during`);
  }
} finally {
  clearInterval(sampler);
  await system.close();
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
