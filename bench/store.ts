/**
 * Whether the store's cost grows with its data, on the two hot paths: a send's database time (every
 * command the delivery path sends for one email, summed from command monitoring; the SMTP call is
 * not in it) and a duplicate event's recognition (a copy of an accepted event posted to /v1/track).
 *
 * For each size, the hot collections (profiles, inbound_events, ledger, policy_records) are filled to
 * that many documents each: copies of the documents a real event and a real send left behind, with
 * other customers' ids. The baseline is the smallest size, in the same run; load beside each figure.
 *   npm run bench:store [-- sizes [backends]]   e.g. -- 1000,10000,100000 postgresql,sqlite
 * With MONGODB_URL set it measures that server instead of the embedded backends.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { BSON, type Document } from 'mongodb';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../activities/index.js';
import { postSegment } from '../client/segment-http.js';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { startStack, type StoreBackend } from '../stack/index.js';
import { startLocalSystem, type LocalSystem } from '../stack/local-system.js';
import { openDatabase, type Database } from '../store/db.js';
import { mergeTraits } from '../store/profiles.js';
import type { DeliveryOutcome, DeliveryRequest } from '../workflows/sdk/types.js';
import { trackEvent } from './load-generator.js';

installTemporalRuntime();
const sizes = (process.argv[2] ?? '1000,10000,100000').split(',').map(Number);
const backends = (process.env.MONGODB_URL ? ['MONGODB_URL'] : (process.argv[3] ?? 'postgresql,sqlite').split(',')) as Array<StoreBackend | 'MONGODB_URL'>;
const SENDS = Number(process.env.SENDS ?? 30);
const COPIES = Number(process.env.COPIES ?? 30);
const HOT = ['profiles', 'inbound_events', 'ledger', 'policy_records'] as const;
const SEED = 'store-bench-seed';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

for (const backend of backends) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-'));
  const stack = await startStack({ dataDir, log: stackLogger, storeBackend: backend === 'MONGODB_URL' ? undefined : backend });
  const run = Date.now().toString(36);
  const system = await startLocalSystem({
    temporalAddress: stack.temporalAddress, mongoUrl: stack.mongoUrl, database: `bench_${run}`, taskQueue: `bench-${run}`, startWorker: false,
    frequencyCap: '1000/24h',
  });
  const db = await openDatabase(system.config.MONGODB_URL, system.config.MONGODB_DATABASE, { monitorCommands: true });
  try {
    console.log(`\n${stack.store}: ${SENDS} sends and ${COPIES} duplicate copies per size, one at a time`);
    await measure(system, db);
  } finally {
    await db.db.dropDatabase().catch(() => undefined);
    await db.close();
    await system.close();
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
console.log(`\nmachine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);

async function measure(system: LocalSystem, db: Database): Promise<void> {
  const { activities, close } = await createActivities(system.config, db);
  const env = new MockActivityEnvironment({ startToCloseTimeoutMs: 3_600_000, currentAttemptScheduledTimestampMs: Date.now() });
  const request = (userId: string, n: number): DeliveryRequest => ({
    idempotencyKey: `bench/${userId}/step#${n}`, journeyId: 'bench', stepId: 'step', workflowId: `bench/${userId}`, userId,
    category: 'marketing', data: {}, firstAttemptAt: new Date().toISOString(), channel: 'email', template: 'welcome',
  });
  const send = async (userId: string, n: number) => {
    const outcome = (await env.run(activities.deliver, request(userId, n))) as DeliveryOutcome;
    if (!outcome.delivered) throw new Error(`not sent: ${outcome.reason}`);
  };

  // The documents one customer's event and send leave behind, copied for the filler customers.
  const original = trackEvent(SEED, 'Product Viewed', { sku: 'LT-114' }, `m-original-${SEED}`);
  if ((await postSegment(system.httpUrl, system.writeKey, '/v1/track', original)).status !== 200) throw new Error('the original event was refused');
  await mergeTraits(db.collections.profiles, SEED, { email: `${SEED}@example.com` });
  await send(SEED, 0);
  const templates = Object.fromEntries(
    await Promise.all(HOT.map(async (name) => [name, BSON.EJSON.stringify(await db.db.collection(name).find().toArray())] as const)),
  );

  // Command time per send: the sends run one at a time, so every command in between is theirs.
  let commandMs = 0;
  const byCommand = new Map<string, number>();
  const names = new Map<number, string>();
  db.client.on('commandStarted', (event) => names.set(event.requestId, `${event.commandName} ${String(event.command[event.commandName])}`));
  db.client.on('commandSucceeded', (event) => {
    commandMs += event.duration;
    const name = names.get(event.requestId) ?? event.commandName;
    byCommand.set(name, (byCommand.get(name) ?? 0) + event.duration);
  });

  let baseline: { send: number; duplicate: number } | undefined;
  let filled = 0;
  for (const size of sizes) {
    for (; filled < size; filled += 1_000) await fill(db, templates, filled, Math.min(1_000, size - filled));
    const counts = await Promise.all(HOT.map((name) => db.db.collection(name).countDocuments()));
    const sendMs: number[] = [];
    byCommand.clear();
    for (let i = 0; i < SENDS; i++) {
      const userId = `store-bench-${size}-${i}`;
      await mergeTraits(db.collections.profiles, userId, { email: `${userId}@example.com` });
      commandMs = 0;
      await send(userId, 1);
      sendMs.push(commandMs);
    }
    const perCommand = [...byCommand].sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${(ms / SENDS).toFixed(1)}`).join(', ');
    const duplicateMs: number[] = [];
    for (let i = 0; i < COPIES; i++) {
      const started = performance.now();
      const copy = await postSegment(system.httpUrl, system.writeKey, '/v1/track', original);
      duplicateMs.push(performance.now() - started);
      if ((copy.body as { result?: string }).result !== 'duplicate') throw new Error(`copy ${i} was not recognised as a duplicate`);
    }
    const figures = { send: median(sendMs), duplicate: median(duplicateMs) };
    baseline ??= figures;
    console.log(
      `  ${String(size).padStart(7)} per collection (${HOT.map((name, i) => `${name} ${counts[i]}`).join(', ')})\n` +
        `          a send's database time p50 ${figures.send.toFixed(1)} ms (${(figures.send / baseline.send).toFixed(2)}x the ${sizes[0]} figure), ` +
        `a duplicate's recognition p50 ${figures.duplicate.toFixed(1)} ms (${(figures.duplicate / baseline.duplicate).toFixed(2)}x); load ${load()}\n` +
        `          per send, ms by command (mean; the profile write before each send included): ${perCommand}`,
    );
  }
  close();
}

/** Inserts `count` copies of each hot collection's seed documents, as customers filler-<from>… */
async function fill(db: Database, templates: Record<string, string>, from: number, count: number): Promise<void> {
  for (const name of HOT) {
    const seeds = BSON.EJSON.parse(templates[name]!) as Document[];
    const docs: Document[] = [];
    for (let i = from; docs.length < count; i++) {
      const seed = seeds[i % seeds.length]!;
      const copy = BSON.EJSON.parse(BSON.EJSON.stringify(seed).replaceAll(SEED, `filler-${i}`)) as Document;
      // Documents whose _id does not name the customer (generated ids) get one of their own.
      copy._id = typeof copy._id === 'string' && copy._id !== seed._id ? copy._id : `${String(seed._id)}-filler-${i}`;
      docs.push(copy);
    }
    await db.db.collection(name).insertMany(docs, { ordered: false });
  }
}
