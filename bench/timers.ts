/**
 * Whether delivery keeps pace with its timers: N customers enter cart abandonment (through
 * /v1/batch) with its first wait set so that every wait ends within a few seconds of the others; the
 * reminder email of each is timed at the SMTP server against the moment its own timer was due (from
 * the workflow's history). Baseline in the same run: when Temporal fired those timers. Run twice on
 * one stack, each on a task queue of its own: payloads sealed with each customer's key (as deployed),
 * with the payload key alone, and in plain text, so the codec's cost is the difference in drain rates.
 *   npm run bench:timers [-- customers [waitSeconds]]
 */
import proto from '@temporalio/proto';
import pMap from 'p-map';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import type { Payload } from '@temporalio/common';
import { deploymentCodec } from '../platform/temporal.js';
import { startStack } from '../stack/index.js';
import { startLocalSystem } from '../stack/local-system.js';
import { waitUntil } from '../stack/wait-until.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { postInBatches, trackEvent } from './load-generator.js';

installTemporalRuntime();
const customers = Number(process.argv[2] ?? 500);
const waitSeconds = Number(process.argv[3] ?? 45);
const WAIT_STEP = 'wait-before-reminder';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
};
const millis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-'));
const stack = await startStack({ dataDir, log: stackLogger });
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** One pass: customers enter, their timers fall due, their emails are timed; returns the drain rate. */
async function pass(label: string, env: Record<string, string>): Promise<number> {
  const run = Date.now().toString(36);
  const system = await startLocalSystem({
    temporalAddress: stack.temporalAddress, mongoUrl: stack.mongoUrl, database: `bench_${run}`, taskQueue: `bench-${run}`,
    journeySettings: { cartAbandonment: { reminderDelay: `${waitSeconds} seconds` } },
    env,
  });
  try {
    const users = Array.from({ length: customers }, (_, i) => `timers-${run}-${i}`);
    const cart = { cart_id: 'c-1', value: 49, currency: 'USD', products: [{ sku: 'LT-114', name: 'Linen throw', price: 49 }] };
    const events = users.flatMap((userId) => [
      { type: 'identify', userId, traits: { email: `${userId}@example.com` }, messageId: `m-id-${userId}` },
      trackEvent(userId, 'Checkout Started', cart, `m-cs-${userId}`),
    ]);
    const entering = performance.now();
    await postInBatches(events, { url: system.httpUrl, writeKey: system.writeKey, batchSize: 100, concurrency: 4 });
    console.log(`${label}: ${customers} customers entered in ${((performance.now() - entering) / 1000).toFixed(1)} s; each waits ${waitSeconds} s; load ${load()}`);
    await system.smtp.waitForMessages(customers, (waitSeconds + 600) * 1000);
    const loadAfter = load();

    // A timer's summary names its step; in a sealed history it opens with the deployment's codec.
    const codec = deploymentCodec(system.config, system.db);
    const summaryOf = async (event: proto.temporal.api.history.v1.IHistoryEvent) => {
      const summary = event.userMetadata?.summary;
      if (!summary) return '';
      const [opened] = codec ? await codec.decode([summary as Payload]) : [summary as Payload];
      return Buffer.from(opened!.data ?? []).toString();
    };
    const arrived = new Map(users.map((userId) => [userId, system.smtp.messagesTo(`${userId}@example.com`)[0]!.arrivedAt]));
    const timers = await pMap(
      users,
      async (userId) => {
        const history = await system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId)).fetchHistory();
        const timersStarted = history.events!.filter((e) => e.eventType === proto.temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED);
        const summaries = await Promise.all(timersStarted.map(summaryOf));
        const started = timersStarted.find((_, i) => summaries[i]!.includes(WAIT_STEP));
        if (!started) throw new Error(`no ${WAIT_STEP} timer in ${userId}'s history`);
        const timerId = started.timerStartedEventAttributes!.timerId;
        const fired = history.events!.find((e) => e.eventType === proto.temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_FIRED && e.timerFiredEventAttributes?.timerId === timerId);
        const due = millis(started.eventTime) + millis(started.timerStartedEventAttributes!.startToFireTimeout);
        return { userId, due, fired: millis(fired!.eventTime) };
      },
      { concurrency: 16 },
    );
    const dues = timers.map((t) => t.due);
    console.log(`  timers due over ${((Math.max(...dues) - Math.min(...dues)) / 1000).toFixed(1)} s`);
    console.log(`  timer fired after due (Temporal, baseline): ${summary(timers.map((t) => t.fired - t.due))}`);
    console.log(`  email at the SMTP server after due:         ${summary(timers.map((t) => arrived.get(t.userId)! - t.due))} (target p99 <= 5000 ms)`);
    const first = Math.min(...arrived.values());
    const last = Math.max(...arrived.values());
    const rate = customers / Math.max(0.001, (last - first) / 1000);
    console.log(`  emails drained at ${rate.toFixed(0)}/s; load ${loadAfter}`);
    return rate;
  } finally {
    await system.close();
  }
}

try {
  const sealed = await pass("payloads sealed with each customer's key (the default)", {});
  const deploymentKey = await pass('payloads sealed with the payload key alone (CUSTOMER_KEYS=false)', { CUSTOMER_KEYS: 'false' });
  const plain = await pass("payloads in plain text (the codec's baseline)", { PAYLOAD_KEYS: '' });
  console.log(`drain rate against plain text: customer keys ${(sealed / plain).toFixed(2)}x, payload key alone ${(deploymentKey / plain).toFixed(2)}x (target >= 0.95)`);
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; store ${stack.store}`);
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
