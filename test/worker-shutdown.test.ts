/**
 * A worker stops within its grace and a bound even when a task it holds never finishes: a send whose
 * SMTP server takes the message and never answers (within SMTP_TIMEOUT, here longer than any test)
 * does not hold the stop. What it held is left to Temporal, as after a crash: the send's claim stays
 * in the ledger, so a retry reports an unknown outcome instead of sending again.
 */
import { afterAll, expect, it } from 'vitest';
import { waitUntil } from '../stack/wait-until.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem | undefined;
let answer: (() => void) | undefined;
afterAll(async () => {
  answer?.();
  await system?.close();
});

it('stops within its grace and 20 s while a send waits on an SMTP server that does not answer', async () => {
  system = await startTestSystem({
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' } },
    env: { SMTP_TIMEOUT: '10m', SHUTDOWN_GRACE: '1s' },
    smtp: { respond: () => new Promise<undefined>((resolve) => (answer = () => resolve(undefined))) },
  });
  const userId = uniqueId('held');
  await system.identify(userId, { email: `${userId}@example.com` });
  await system.track(userId, 'Checkout Started', { cart_id: 'c-1' });
  await waitUntil(async () => (await system!.reasons(userId)).includes('cart-reminder-email:sending'), 30_000, 'the send under way');
  await waitUntil(() => answer !== undefined, 10_000, 'the message at the SMTP server');

  const stopping = performance.now();
  await system.worker!.shutdown();
  const seconds = (performance.now() - stopping) / 1000;
  // The grace (1 s) and the bound (20 s), with room for a busy machine; without the bound it waits for SMTP_TIMEOUT.
  expect(seconds).toBeLessThan(60);
  expect(await system.reasons(userId)).toEqual(['cart-reminder-email:sending']);
});
