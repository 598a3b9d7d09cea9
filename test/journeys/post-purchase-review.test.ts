/**
 * Review request at 10:00 in the customer's zone, three days after delivery: across the start of US
 * daylight saving time, in a far time zone, with the fallback zone, and one instance per order.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJourneyTester, type JourneyTester } from '../support/journey-tester.js';

let tester: JourneyTester;
beforeAll(async () => {
  tester = await startJourneyTester();
});
afterAll(() => tester?.close());

// Delivered Friday 12 March 2027, 15:00 UTC; US daylight saving time starts Sunday 14 March.
const delivered = { delivered_at: '2027-03-12T15:00:00Z' };

async function sendTime(result: { steps: Array<{ stepId: string; at: string; outcome: string }> }) {
  const wait = result.steps.find((s) => s.stepId === 'three-days-after-delivery')!;
  const email = result.steps.find((s) => s.stepId === 'review-request-email')!;
  return { planned: wait.outcome, sentAt: email.at, reason: email.outcome };
}

it('asks at 10:00 New York time on Monday, after the clocks changed', async () => {
  const ny = await tester.customer({ timezone: 'America/New_York' });
  await ny.track('Order Delivered', { order_id: 'o-1', ...delivered });
  const sent = await sendTime(await ny.result('postPurchaseReview', 'o-1'));
  expect(sent.planned).toBe('waited-until:2027-03-15T14:00:00.000Z (America/New_York)');
  expect(Date.parse(sent.sentAt)).toBeGreaterThanOrEqual(Date.parse('2027-03-15T14:00:00Z'));
  expect(Date.parse(sent.sentAt)).toBeLessThan(Date.parse('2027-03-15T14:05:00Z'));
  expect(sent.reason).toBe('sent');
  expect(await ny.waitForEmails(1)).toEqual(['How is your order o-1?']);
});

it('asks at 10:00 Auckland time for a customer there', async () => {
  const akl = await tester.customer({ timezone: 'Pacific/Auckland' });
  await akl.track('Order Delivered', { order_id: 'o-2', ...delivered });
  const sent = await sendTime(await akl.result('postPurchaseReview', 'o-2'));
  expect(sent.planned).toBe('waited-until:2027-03-15T21:00:00.000Z (Pacific/Auckland)');
});

it('uses the journey\'s fallback zone when the profile has none', async () => {
  const unknown = await tester.customer({ timezone: 'Mars/Olympus_Mons' });
  await unknown.track('Order Delivered', { order_id: 'o-3', ...delivered });
  const sent = await sendTime(await unknown.result('postPurchaseReview', 'o-3'));
  expect(sent.planned).toBe('waited-until:2027-03-15T14:00:00.000Z (America/New_York)');
});

it('runs one instance per order: returning one order ends only that order\'s journey', async () => {
  const two = await tester.customer({ timezone: 'Europe/London' });
  await two.track('Order Delivered', { order_id: 'keep', ...delivered });
  await two.track('Order Delivered', { order_id: 'back', ...delivered });
  await two.track('Order Returned', { order_id: 'back' });
  // Before awaiting any result: waiting for one lets the test server skip time for all.
  expect(await two.currentStep('postPurchaseReview', 'keep')).toBe('three-days-after-delivery');
  expect(await two.result('postPurchaseReview', 'back')).toMatchObject({ status: 'exited', exitEvent: 'Order Returned' });
  expect((await two.result('postPurchaseReview', 'keep')).status).toBe('completed');
  expect(await two.waitForEmails(1)).toEqual(['How is your order keep?']);
  // This deployment has no "reviews-platform" endpoint configured: the step says so and moves on.
  expect(await two.decisions()).toEqual(['review-request-email:sent', 'notify-reviews-platform:no-endpoint']);
});
