/**
 * Records workflow histories for the replay test: runs each scenario on the embedded stack (or on
 * TEMPORAL_ADDRESS / MONGODB_URL), through the public HTTP API, and writes the finished workflow's
 * history to test/histories/<journey>/<scenario>.json. Run it after adding a journey or a version:
 *   npm run record-histories
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger, stackLogger } from '../../client/logger.js';
import { startStack } from '../../stack/index.js';
import { startLocalSystem, type LocalSystem } from '../../stack/local-system.js';
import { waitUntil } from '../../stack/wait-until.js';
import { postSegment } from '../../client/segment-http.js';
import { journeyWorkflowId } from '../../workflows/sdk/definitions.js';

interface Scenario {
  journey: string;
  name: string;
  play(system: LocalSystem, userId: string): Promise<void>;
}

const send = (system: LocalSystem, path: string, body: Record<string, unknown>) =>
  postSegment(system.httpUrl, system.writeKey, path, body);

const checkoutStarted = (system: LocalSystem, userId: string) =>
  send(system, '/v1/track', { userId, event: 'Checkout Started', properties: { cart_id: 'c1', products: [{ name: 'Lamp' }] } });

const SCENARIOS: Scenario[] = [
  {
    journey: 'cartAbandonment',
    name: 'completed',
    async play(system, userId) {
      await send(system, '/v1/identify', { userId, traits: { email: `${userId}@example.com`, phone: '+15550100001', consent: { sms: true } } });
      await checkoutStarted(system, userId);
    },
  },
  {
    journey: 'cartAbandonment',
    name: 'converted-while-waiting-for-order',
    async play(system, userId) {
      await send(system, '/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
      await checkoutStarted(system, userId);
      await waitUntil(() => system.smtp.messages.length > 0, 30_000, 'the reminder');
      await send(system, '/v1/track', { userId, event: 'Order Completed', properties: { order_id: 'o1' } });
    },
  },
  {
    journey: 'cartAbandonment',
    name: 'converted-while-retargeted',
    async play(system, userId) {
      await send(system, '/v1/identify', { userId, traits: { email: `${userId}@example.com`, phone: '+15550100002', consent: { sms: true } } });
      await checkoutStarted(system, userId);
      await waitUntil(() => system.audiences.calls.length > 0, 30_000, 'the audience add');
      await send(system, '/v1/track', { userId, event: 'Order Completed', properties: { order_id: 'o2' } });
    },
  },
];

const outDir = path.dirname(fileURLToPath(import.meta.url));
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-record-'));
const stack = await startStack({ dataDir, log: stackLogger });
try {
  for (const scenario of SCENARIOS) {
    // A fresh system per scenario, so "wait for the first email" means this scenario's email.
    const system = await startLocalSystem({
      temporalAddress: stack.temporalAddress,
      mongoUrl: stack.mongoUrl,
      database: `record_${scenario.name.replaceAll('-', '_')}`,
      taskQueue: `record-${scenario.name}`,
      journeySettings: {
        cartAbandonment: { reminderDelay: '1s', orderWindow: scenario.name.includes('waiting') ? '1 hour' : '1s', retargetFor: scenario.name.includes('retargeted') ? '1 hour' : '1s' },
      },
    });
    try {
      const userId = `recorded-${scenario.name}`;
      await scenario.play(system, userId);
      const handle = system.temporal.workflow.getHandle(journeyWorkflowId(scenario.journey, userId));
      await handle.result();
      const file = path.join(outDir, scenario.journey, `${scenario.name}.json`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, historyToJSON(await handle.fetchHistory()) + '\n');
      logger.info({ file }, 'recorded');
    } finally {
      await system.close();
    }
  }
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
