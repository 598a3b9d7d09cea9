/**
 * A worker killed in the middle of a send. The SMTP server has the whole message when the worker dies,
 * but the worker never hears back, so Temporal retries the activity on another worker. The retry must
 * not send the email again, and the journey must carry on.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findLedgerEntry } from '../store/ledger.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

let system: TestSystem;
let workers: WorkerProcess[] = [];
let crashed = false;

beforeAll(async () => {
  system = await startTestSystem({
    startWorker: false,
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s', sendTimeout: '3s' } },
    smtp: {
      async respond() {
        if (crashed) return undefined;
        crashed = true;
        await workers[0]!.kill(); // dies after the message arrived, before it learns the outcome
        return undefined;
      },
    },
  });
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await system?.close();
});

it('does not send twice when the worker dies after the provider accepted the message', async () => {
  const userId = uniqueId('crash');
  const email = `${userId}@example.com`;
  await system.identify(userId, { email, phone: '+14155554321', consent: { sms: true } });
  workers.push(startWorkerProcess(system.env));
  await system.track(userId, 'Checkout Started', { cart_id: 'c-9' });

  await system.smtp.waitForMessages(1, 60_000);
  expect(crashed).toBe(true);
  workers.push(startWorkerProcess(system.env));

  const result = await system.journeyResult(userId);
  expect(result.status).toBe('completed');
  expect(result.steps.find((s) => s.stepId === 'cart-reminder-email')?.outcome).toBe('unknown-outcome');
  expect(result.steps.find((s) => s.stepId === 'cart-reminder-sms')?.outcome).toBe('sent');
  expect(system.smtp.messagesTo(email)).toHaveLength(1);
  const entries = await system.db.collections.ledger.find({ userId, stepId: 'cart-reminder-email' }).toArray();
  expect(entries).toHaveLength(1);
  expect(entries[0]?.detail).toMatch(/died while the provider may have had the message/);
  expect(await findLedgerEntry(system.db.collections.ledger, entries[0]!._id)).toMatchObject({ status: 'done' });
});
