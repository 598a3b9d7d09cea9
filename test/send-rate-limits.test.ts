/**
 * A channel's send-rate limit holds across worker processes: two workers share SMS at 1 per second
 * (a US long code), enforced by Temporal on the SMS send queue, while email is not held back.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mergeTraits } from '../store/profiles.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
const workers: WorkerProcess[] = [];
beforeAll(async () => {
  system = await startTestSystem({
    startWorker: false,
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' } },
  });
  const env = { ...system.env, SEND_RATE_LIMITS: JSON.stringify({ sms: 1 }) };
  workers.push(startWorkerProcess(env), startWorkerProcess(env));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await system?.close();
});

it('sends six SMS at one a second, from two workers, while the emails go out at once', async () => {
  const customers = Array.from({ length: 6 }, (_, i) => ({ userId: uniqueId(`rate${i}`), phone: `+1415555${String(2000 + i)}` }));
  for (const { userId, phone } of customers) {
    await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com`, phone, consent: { sms: true } });
  }
  await Promise.all(customers.map(({ userId }) => system.track(userId, 'Checkout Started', { cart_id: 'c1' })));

  const emails = await system.smtp.waitForMessages(6, 30_000);
  const emailTimes = emails.map((m) => m.arrivedAt).sort((a, b) => a - b);
  expect(emailTimes.at(-1)! - emailTimes[0]!).toBeLessThan(1_000);

  await system.twilio.waitForMessages(6, 60_000);
  for (const { userId } of customers) expect(await system.settledReasons(userId, 2)).toContain('cart-reminder-sms:sent');
  // The limit is on when sends start, which Temporal records: arrival times at the provider also
  // carry each call's own latency (a worker's first call opens its connection), so they are not it.
  const times = (await Promise.all(customers.map(({ userId }) => smsStartedAt(userId)))).sort((a, b) => a - b);
  // Temporal's limiter is a token bucket that lets one extra task through at once: six sends at one a
  // second start over at least four seconds (less a little for timer jitter); unlimited, well under one.
  expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(3_750);
});

/** When the customer's SMS send started, from their journey's history. */
async function smsStartedAt(userId: string): Promise<number> {
  const events = (await system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId)).fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId?.startsWith('cart-reminder-sms#'))!;
  const started = events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === Number(scheduled.eventId))!;
  return Number(started.eventTime!.seconds) * 1_000 + Math.floor((started.eventTime!.nanos ?? 0) / 1e6);
}
