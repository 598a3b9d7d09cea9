/**
 * Cart abandonment v2 in simulated time: the SMS goes only to a customer who did not click the
 * reminder email within the order window; a click on another journey's email does not count.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJourneyTester, type JourneyTester } from '../support/journey-tester.js';

let tester: JourneyTester;
beforeAll(async () => {
  tester = await startJourneyTester();
});
afterAll(() => tester?.close());

const checkout = { cart_id: 'c1', products: [{ name: 'Lamp' }] };
let phone = 700;
const shopper = () => tester.customer({ phone: `+1415555${String(phone++).padStart(4, '0')}`, consent: { sms: true } });
const emailClicked = (journey: string, step: string) => ({ journey_id: journey, step_id: step, template: 'cart-reminder', channel: 'email', link: 'https://shop.example/cart' });

it('texts only customers who did not click the email within the day', async () => {
  const [clicker, idle, elsewhere] = [await shopper(), await shopper(), await shopper()];
  for (const c of [clicker, idle, elsewhere]) await c.track('Checkout Started', checkout);
  await tester.advance('61 minutes');
  for (const c of [clicker, idle, elsewhere]) await c.waitForEmails(1);
  await tester.advance('4 hours');
  await clicker.track('Email Clicked', emailClicked('cartAbandonment', 'cart-reminder-email'));
  // A click on another journey's email is not this journey's business.
  await elsewhere.track('Email Clicked', emailClicked('browseAbandonment', 'browse-reminder-email'));
  await tester.advance('20 hours'); // past the order window for everyone

  for (const c of [clicker, idle, elsewhere]) await c.result('cartAbandonment');
  expect(await clicker.decisions()).toEqual(['cart-reminder-email:sent', 'add-to-retargeting:sent', 'retargeting-ended:sent']);
  expect(await idle.decisions()).toEqual(['cart-reminder-email:sent', 'cart-reminder-sms:sent', 'add-to-retargeting:sent', 'retargeting-ended:sent']);
  expect(await elsewhere.decisions()).toEqual(await idle.decisions());
  const clickerSteps = (await clicker.result('cartAbandonment')).steps.map((s) => `${s.stepId}:${s.outcome}`);
  expect(clickerSteps.slice(0, 3)).toEqual(['wait-before-reminder:waited', 'cart-reminder-email:sent', 'wait-for-order:received:Email Clicked']);
});
