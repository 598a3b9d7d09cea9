/**
 * kill -9 of the worker process, again and again, while it sends emails and SMS for a crowd of
 * customers. Every customer gets each message at most once; the ledger agrees with what arrived;
 * unknown outcomes come only from sends at the provider when the worker died (a few per kill, at
 * most one per pooled SMTP connection and Twilio request in flight), and are printed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '../../stack/wait-until.js';
import { auditSends } from '../support/delivery-audit.js';
import { startTestSystem, uniqueId, type TestSystem } from '../support/system.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const CUSTOMERS = Number(process.env.FAULT_CUSTOMERS ?? 60);
const KILLS = Number(process.env.FAULT_KILLS ?? 3);
const SMTP_CONNECTIONS = 3;
const SMS_IN_FLIGHT = 4;
let system: TestSystem;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  system = await startTestSystem({
    startWorker: false,
    frequencyCap: '100/24h',
    // Small pools make the bound below tight: a kill may leave only the sends in flight unknown.
    env: { SMTP_MAX_CONNECTIONS: String(SMTP_CONNECTIONS), TWILIO_MAX_CONCURRENT: String(SMS_IN_FLIGHT) },
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s', sendTimeout: '10s' } },
    // Slow enough that a kill lands mid-send: each message takes ~50 ms at the server.
    smtp: { respond: () => sleep(50).then(() => undefined) },
  });
});
afterAll(async () => {
  await worker?.kill();
  await system?.close();
});

it(`${KILLS} kills of the worker during ${CUSTOMERS} customers' email and SMS sends: no duplicate, no silent loss`, async () => {
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => {
    const userId = uniqueId('kill');
    return { userId, email: `${userId}@example.com`, phone: `+1415556${String(1000 + i).slice(-4)}` };
  });
  for (const c of customers) await system.identify(c.userId, { email: c.email, phone: c.phone, consent: { sms: true } });
  worker = startWorkerProcess(system.env);
  await Promise.all(customers.map((c) => system.track(c.userId, 'Checkout Started', { cart_id: 'c-1' })));

  for (let kill = 1; kill <= KILLS; kill++) {
    const before = system.smtp.messages.length + system.twilio.messages.length;
    // Kill once sends are flowing, then start a fresh worker, as a supervisor would.
    await waitUntil(() => system.smtp.messages.length + system.twilio.messages.length >= before + Math.ceil(CUSTOMERS / (KILLS + 2)), 120_000, 'sends flowing');
    await worker.kill();
    worker = startWorkerProcess(system.env);
  }
  await Promise.all(customers.map((c) => system.journeyResult(c.userId)));
  await sleep(2_000);

  const audit = await auditSends(system, customers);
  console.log(`worker kills: ${KILLS}, customers: ${CUSTOMERS}, unknown outcomes: ${audit.unknownOutcomes} (${(audit.unknownOutcomes / KILLS).toFixed(1)} per kill)`);
  expect(audit.duplicates).toEqual([]);
  expect(audit.disagreements).toEqual([]);
  expect(audit.undecided).toEqual([]);
  // At most the sends in flight when each kill came: a pooled SMTP connection's, a Twilio request's.
  expect(audit.unknownOutcomes).toBeLessThanOrEqual(KILLS * (SMTP_CONNECTIONS + SMS_IN_FLIGHT));
}, 120_000 + CUSTOMERS * 1_000);
