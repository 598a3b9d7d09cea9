/**
 * The journey with its real default waits (1 hour, 24 hours, 7 days) on Temporal's time-skipping test
 * server: simulated time, real activities against the database and the local SMTP / Twilio / webhook
 * servers.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import { createRouter } from '../client/router.js';
import { registerSearchAttributes } from '../client/search-attributes.js';
import { ensureTestServer } from '../stack/tools.js';
import { waitUntil } from '../stack/wait-until.js';
import { journeyVersions } from '../workflows/journeys/index.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import type { JourneyResult } from '../workflows/sdk/types.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';
import { inject } from 'vitest';

let env: TestWorkflowEnvironment;
let system: TestSystem;

beforeAll(async () => {
  const path = await ensureTestServer(pino({ level: 'info' }));
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  system = await startTestSystem({ startWorker: false });
});
afterAll(async () => {
  await system?.close();
  await env?.teardown();
});

it('reminds after 1 hour, texts 24 hours later, retargets for 7 days', async () => {
  const taskQueue = uniqueId('skip');
  const { activities, close } = createActivities(system.config, system.db);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
  });
  const route = createRouter({ client: env.client, db: system.db, taskQueue, journeys: journeyVersions, settings: {} });
  const userId = uniqueId('default');
  const email = `${userId}@example.com`;
  await system.identify(userId, { email, phone: '+14155552030', consent: { sms: true } });

  const result = await worker.runUntil(async () => {
    const enteredAt = Date.parse(new Date(await env.currentTimeMs()).toISOString());
    await route({ messageId: uniqueId('m'), event: 'Checkout Started', userId, timestamp: new Date().toISOString(), properties: {} });
    await env.sleep('59 minutes');
    expect(system.smtp.messages).toHaveLength(0);
    await env.sleep('2 minutes');
    await waitUntil(() => system.smtp.messages.length === 1, 30_000, 'the reminder after an hour');
    const handle = env.client.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId));
    return { enteredAt, result: (await handle.result()) as JourneyResult };
  });
  close();

  const at = (stepId: string) => Date.parse(result.result.steps.find((s) => s.stepId === stepId)!.at) - result.enteredAt;
  const HOUR = 3_600_000;
  expect(result.result.status).toBe('completed');
  expect(at('wait-before-reminder')).toBeGreaterThanOrEqual(HOUR);
  expect(at('wait-before-reminder')).toBeLessThan(HOUR + 60_000);
  expect(at('wait-for-order') - at('cart-reminder-email')).toBeGreaterThanOrEqual(24 * HOUR);
  expect(at('retargeting-window') - at('add-to-retargeting')).toBeGreaterThanOrEqual(7 * 24 * HOUR);
  expect(result.result.steps.map((s) => `${s.stepId}:${s.outcome}`)).toEqual([
    'wait-before-reminder:waited',
    'cart-reminder-email:sent',
    'wait-for-order:waited',
    'cart-reminder-sms:sent',
    'add-to-retargeting:sent',
    'retargeting-window:waited',
    'retargeting-ended:sent',
  ]);
  expect(system.twilio.messages).toHaveLength(1);
  expect(system.audiences.members('cart-abandoners')).toEqual([]);
  expect(system.audiences.calls.map((c) => c.type)).toEqual(['audience.member.added', 'audience.member.removed']);
});
