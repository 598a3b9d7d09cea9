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
import { cpuBetween, cpuSnapshot } from './process-cpu.js';

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
    monitorCommands: true,
  });
  // The store commands issued while the timers drain, by command and collection.
  const commands = new Map<string, number>();
  let counting = false;
  system.db.client.on('commandStarted', (event) => {
    if (!counting) return;
    const name = `${event.commandName} ${String(event.command[event.commandName])}`;
    commands.set(name, (commands.get(name) ?? 0) + 1);
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
    const enteredIn = performance.now() - entering;
    console.log(`${label}: ${customers} customers entered in ${(enteredIn / 1000).toFixed(1)} s; each waits ${waitSeconds} s; load ${load()}`);
    // The drain is measured from a second before the first timer falls due to the last email.
    const drainFrom = waitSeconds * 1000 - 1000;
    if (enteredIn > drainFrom) console.log(`  (entry outlasted the first wait: the drain's figures below include entry work)`);
    else await new Promise((resolve) => setTimeout(resolve, drainFrom - enteredIn));
    const cpuBefore = cpuSnapshot(stack.processes);
    const drainStarted = performance.now();
    counting = true;
    await system.smtp.waitForMessages(customers, (waitSeconds + 600) * 1000);
    counting = false;
    const cpu = cpuBetween(cpuBefore, cpuSnapshot(stack.processes));
    const drainSeconds = (performance.now() - drainStarted) / 1000;
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
        // What Temporal ran for the send step: everything after the wait's timer fired.
        const after = history.events!.slice(history.events!.indexOf(fired!) + 1);
        const count = (type: proto.temporal.api.enums.v1.EventType) => after.filter((e) => e.eventType === type).length;
        const step = {
          workflowTasks: count(proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
          activities: count(proto.temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
          events: after.length,
        };
        return { userId, due, fired: millis(fired!.eventTime), step };
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
    // Where a send's time went: the CPU each process used in the drain, per send, and the work per send.
    const perSend = (total: number) => (total / customers).toFixed(1);
    const cpuTotal = [...cpu.values()].reduce((a, b) => a + b, 0);
    console.log(`  CPU per send over the drain (${drainSeconds.toFixed(1)} s): ${[...cpu].map(([name, seconds]) => `${name} ${perSend(seconds * 1000)} ms`).join(', ')}; ` +
      `${perSend(cpuTotal * 1000)} ms in all, ${(cpuTotal / drainSeconds).toFixed(2)} of ${os.cpus().length} cores busy`);
    const sum = (pick: (t: (typeof timers)[number]) => number) => timers.reduce((a, t) => a + pick(t), 0);
    console.log(`  Temporal per send step: ${perSend(sum((t) => t.step.workflowTasks))} workflow tasks, ${perSend(sum((t) => t.step.activities))} activities, ${perSend(sum((t) => t.step.events))} history events`);
    const commandTotal = [...commands.values()].reduce((a, b) => a + b, 0);
    // The maintenance schedules' reads run beside the drain; they are summed, not named.
    const named = [...commands].filter(([, n]) => n / customers >= 0.05).sort((a, b) => b[1] - a[1]);
    const others = commandTotal - named.reduce((a, [, n]) => a + n, 0);
    console.log(`  store commands per send: ${perSend(commandTotal)} (${named.map(([name, n]) => `${name} ${perSend(n)}`).join(', ')}; others ${perSend(others)})`);
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
