/**
 * The journey with its real default waits (1 hour, 24 hours, 7 days) on Temporal's time-skipping test
 * server: simulated time, real activities against the database and the local SMTP and Twilio servers.
 * (Audience platforms are synced by a schedule on the real stack; see audiences.test.ts.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJourneyTester, type JourneyTester } from './support/journey-tester.js';

let tester: JourneyTester;
beforeAll(async () => {
  tester = await startJourneyTester();
});
afterAll(() => tester?.close());

it('reminds after 1 hour, texts 24 hours later, retargets for 7 days', async () => {
  const { system } = tester;
  const customer = await tester.customer({ phone: '+14155552030', consent: { sms: true } });
  const enteredAt = await tester.now();
  await customer.track('Checkout Started');
  await tester.advance('59 minutes');
  expect(system.smtp.messages).toHaveLength(0);
  await tester.advance('2 minutes');
  await customer.waitForEmails(1);
  const result = await customer.result('cartAbandonment');

  const at = (stepId: string) => Date.parse(result.steps.find((s) => s.stepId === stepId)!.at) - enteredAt;
  const HOUR = 3_600_000;
  expect(result.status).toBe('completed');
  expect(at('wait-before-reminder')).toBeGreaterThanOrEqual(HOUR);
  expect(at('wait-before-reminder')).toBeLessThan(HOUR + 60_000);
  expect(at('wait-for-order') - at('cart-reminder-email')).toBeGreaterThanOrEqual(24 * HOUR);
  expect(at('retargeting-window') - at('add-to-retargeting')).toBeGreaterThanOrEqual(7 * 24 * HOUR);
  expect(result.steps.map((s) => `${s.stepId}:${s.outcome}`)).toEqual([
    'wait-before-reminder:waited',
    'cart-reminder-email:sent',
    'wait-for-order:timed-out',
    'cart-reminder-sms:sent',
    'add-to-retargeting:sent',
    'retargeting-window:waited',
    'retargeting-ended:sent',
  ]);
  expect(system.twilio.messages).toHaveLength(1);
  // Seven days in, the customer's desired membership is "out" again, with hashed identifiers only.
  const membership = await system.db.collections.audienceMembers.findOne({ _id: `cart-abandoners/${customer.userId}` });
  expect(membership).toMatchObject({ member: false, emailSha256: expect.stringMatching(/^[0-9a-f]{64}$/), phoneSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
});
