/**
 * The cost of the delivery policy: MongoDB round trips per send (command monitoring), and emails per
 * second through the full path (ledger, profile, suppression, consent, quiet hours, caps, provider,
 * ledger) against the bare provider call into the same SMTP server, in one run: one send at a time,
 * and with IN_FLIGHT sends at once (default 20, what a worker runs) for both.
 *   npm run bench:policy [-- sends]
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import pMap from 'p-map';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../activities/index.js';
import { createEmailProvider } from '../activities/providers/email.js';
import { unclaimed } from '../activities/providers/provider.js';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { loadConfig } from '../config.js';
import { startStack } from '../stack/index.js';
import { startSmtpSink } from '../stack/smtp-sink.js';
import { openDatabase } from '../store/db.js';
import { mergeTraits } from '../store/profiles.js';
import type { DeliveryOutcome, DeliveryRequest } from '../workflows/sdk/types.js';

installTemporalRuntime();
const sends = Number(process.argv[2] ?? 300);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 20);
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-'));
const stack = await startStack({ dataDir, log: stackLogger });
const smtp = await startSmtpSink();
const config = loadConfig({
  MONGODB_URL: stack.mongoUrl,
  MONGODB_DATABASE: `bench_${Date.now()}`,
  SMTP_URL: smtp.url,
  FREQUENCY_CAP: '1000/24h',
  FREQUENCY_CAPS: JSON.stringify([{ name: 'email-daily', limit: 1000, window: '24h', channels: ['email'] }]),
  QUIET_HOURS: '{}',
  UNSUBSCRIBE_SECRET: randomBytes(32).toString('base64url'),
  AUDIENCE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
});
const db = await openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE, { monitorCommands: true });
try {
  const users = Array.from({ length: sends }, (_, i) => `bench-${i}`);
  for (const userId of users) await mergeTraits(db.collections.profiles, userId, { email: `${userId}@example.com` });
  /** Emails per second for one call per customer, `concurrency` calls at once. */
  const rate = async (concurrency: number, call: (userId: string) => Promise<void>) => {
    const started = performance.now();
    await pMap(users, call, { concurrency });
    return sends / ((performance.now() - started) / 1000);
  };

  const bare = createEmailProvider({ smtpUrl: config.SMTP_URL, from: config.EMAIL_FROM });
  const bareCall = (tag: string) => async (userId: string) =>
    void (await bare.send({ to: `${userId}@example.com`, subject: 'Hi', html: '<p>Hi</p>', text: 'Hi' }, `bare-${tag}-${userId}`, unclaimed));
  const bareRate = await rate(1, bareCall('serial'));
  const bareConcurrentRate = await rate(IN_FLIGHT, bareCall('concurrent'));
  bare.close();

  // Every command the delivery path sends, by command and collection: the decision reads profiles
  // and policy_records and inserts grants; the ledger claims and completes the send.
  const byCommand = new Map<string, { count: number; ms: number }>();
  const pending = new Map<number, string>();
  db.client.on('commandStarted', (event) => {
    pending.set(event.requestId, `${event.commandName} ${String(event.command[event.commandName])}`);
  });
  db.client.on('commandSucceeded', (event) => {
    const name = pending.get(event.requestId) ?? event.commandName;
    const entry = byCommand.get(name) ?? { count: 0, ms: 0 };
    byCommand.set(name, { count: entry.count + 1, ms: entry.ms + event.duration });
  });
  const { activities, close } = await createActivities(config, db);
  // One attempt context for every send of the run: its deadline must outlast the run.
  const env = new MockActivityEnvironment({ startToCloseTimeoutMs: 3_600_000, currentAttemptScheduledTimestampMs: Date.now() });
  const policyCall = (step: number) => async (userId: string) => {
    const request: DeliveryRequest = {
      idempotencyKey: `bench/${userId}/step#${step}`, journeyId: 'bench', stepId: 'step', workflowId: `bench/${userId}`, userId,
      category: 'marketing', data: {}, firstAttemptAt: new Date().toISOString(), channel: 'email', template: 'welcome',
    };
    const outcome = (await env.run(activities.deliver, request)) as DeliveryOutcome;
    if (!outcome.delivered) throw new Error(`not sent: ${outcome.reason}`);
  };
  const policyRate = await rate(1, policyCall(1));
  const commandsOfOneRun = new Map(byCommand);
  const policyConcurrentRate = await rate(IN_FLIGHT, policyCall(2));
  close();

  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`sends: ${sends} per run (${stack.store}, local SMTP server); load ${load}`);
  console.log(`                     one at a time     ${IN_FLIGHT} in flight`);
  console.log(`bare provider call:  ${bareRate.toFixed(0).padStart(5)} emails/s    ${bareConcurrentRate.toFixed(0).padStart(5)} emails/s`);
  console.log(`full policy path:    ${policyRate.toFixed(0).padStart(5)} emails/s    ${policyConcurrentRate.toFixed(0).padStart(5)} emails/s`);
  console.log(`ratio policy/bare:   ${(policyRate / bareRate).toFixed(2).padStart(5)}             ${(policyConcurrentRate / bareConcurrentRate).toFixed(2).padStart(5)} (target >= 0.5 in flight)`);
  byCommand.clear();
  for (const [name, entry] of commandsOfOneRun) byCommand.set(name, entry);
  const perSend = (filter: (name: string) => boolean) =>
    [...byCommand].filter(([name]) => filter(name)).reduce((sum, [, { count }]) => sum + count, 0) / sends;
  const decision = perSend((name) => !name.endsWith(' ledger'));
  console.log(`MongoDB round trips per send: ${perSend(() => true).toFixed(1)}, two cap rules`);
  console.log(`  the decision:      ${decision.toFixed(1)} (target <= 3; the two reads go out together)`);
  console.log(`  the ledger:        ${perSend((name) => name.endsWith(' ledger')).toFixed(1)} (claim before the provider call, completion after)`);
  console.log('per command, one send at a time:');
  for (const [name, { count, ms }] of [...byCommand].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`  ${name.padEnd(28)} ${(count / sends).toFixed(1)} per send, ${(ms / count).toFixed(1)} ms each`);
  }
} finally {
  await db.db.dropDatabase().catch(() => undefined);
  await db.close();
  await smtp.close();
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
