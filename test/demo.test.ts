/**
 * The demo's customers, played exactly as `npm run demo` plays them, and the operator's one-command
 * answer for each: `explain` shows every decision with its reason.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_CAP, DEMO_SETTINGS, demoCustomers, playDemoStream } from '../client/demo-script.js';
import { waitUntil } from '../stack/wait-until.js';
import { runCli } from './support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ journeySettings: DEMO_SETTINGS, frequencyCap: DEMO_CAP });
});
afterAll(() => system?.close());

it("explains what each of the demo's customers got, and why", async () => {
  const customers = demoCustomers(uniqueId('demo'));
  const lines: string[] = [];
  await playDemoStream(system, customers, (line) => lines.push(line));
  expect(lines.join('\n')).toMatch(/Checkout Started .* -> 200 \{"success":true,"result":"duplicate"\}/);
  expect(lines.join('\n')).toMatch(/-> 400 \{"error":"invalid payload","problems":\[\{"field":"event"/);

  const explain = async (userId: string) => {
    // Visibility is eventually consistent: wait until every journey run of the customer is listed.
    let out = '';
    await waitUntil(async () => !(out = (await runCli(['explain', '--user', userId], system.env)).stdout).includes('in step'), 30_000, 'closed runs');
    return out;
  };
  const ana = await explain(customers.ana.userId);
  expect(ana).toMatch(/cart-reminder-email +email cart-reminder +sent/);
  expect(ana).toMatch(/left at .* on "Order Completed"/);
  expect(ana).not.toMatch(/cart-reminder-sms/);

  const ben = await explain(customers.ben.userId);
  expect(ben).toMatch(/consent:\n\s+\S+ \S+\s+sms\s+granted; source identify:/);
  expect(ben).toMatch(/cart-reminder-sms +sms cart-reminder-sms +sent/);
  expect(ben).toMatch(/retargeting-ended +audience remove:cart-abandoners +sent/);

  const cleo = await explain(customers.cleo.userId);
  expect(cleo).toMatch(/cart-reminder-email +email cart-reminder +suppressed:unsubscribe/);
  expect(cleo).toMatch(/cart-reminder-sms +sms cart-reminder-sms +no-consent/);
  expect(cleo).toMatch(/suppressions:\n\s+\S+ \S+\s+email\s+unsubscribe\s+active; source newsletter link/);

  const dan = await explain(customers.dan.userId);
  expect(dan.match(/cartAbandonment: entered/g)).toHaveLength(2);
  expect(dan).toMatch(/cart-reminder-email +email cart-reminder +capped:marketing-all-channels/);
});
