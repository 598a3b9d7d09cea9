/**
 * An SMTP server that takes the whole message but answers 250 only after SMTP_TIMEOUT: the sender
 * cannot know it was accepted. Every customer gets the email once, each send is recorded as an
 * unknown outcome (never resent by itself), and the operator settles them from the CLI.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from '../support/system.js';
import { waitUntil } from '../../stack/wait-until.js';

const CUSTOMERS = 20;
let system: TestSystem;
let late = true;

beforeAll(async () => {
  system = await startTestSystem({
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' } },
    env: { SMTP_TIMEOUT: '1s' },
    smtp: { respond: async () => void (late && (await sleep(1_500))) },
  });
});
afterAll(() => system?.close());

it('answers after the timeout: one email each, unknown outcomes for the operator, settled once each', async () => {
  const customers = Array.from({ length: CUSTOMERS }, () => uniqueId('late'));
  for (const userId of customers) await system.identify(userId, { email: `${userId}@example.com`, phone: '+14155550199', consent: { sms: true } });
  await Promise.all(customers.map((userId) => system.track(userId, 'Checkout Started', { cart_id: 'c-1', 'utm.source': 'mail' })));
  const results = await Promise.all(customers.map((userId) => system.journeyResult(userId)));
  await sleep(2_000); // time for any resend to show

  for (const [i, userId] of customers.entries()) {
    expect(system.smtp.messagesTo(`${userId}@example.com`), userId).toHaveLength(1);
    expect(results[i]!.steps.find((s) => s.stepId === 'cart-reminder-email')?.outcome).toBe('unknown-outcome');
  }
  const listed = await runCli(['unknown', 'list'], system.env);
  expect(listed.stdout).toContain(`${CUSTOMERS} unknown outcome(s)`);
  for (const userId of customers) expect(listed.stdout).toContain(userId);

  // Each customer's reminder key, read before any resend adds a second entry for the same step.
  const keyOf = async (userId: string) => (await system.db.collections.ledger.findOne({ userId, stepId: 'cart-reminder-email' }))!._id;
  late = false;
  const [arrived, resend] = [customers[0]!, customers[1]!];
  const [arrivedKey, resendKey] = [await keyOf(arrived), await keyOf(resend)];
  expect((await runCli(['unknown', 'resolve', arrivedKey, '--sent'], system.env)).stdout).toContain('recorded as sent');
  expect((await runCli(['unknown', 'resolve', resendKey, '--resend'], system.env)).stdout).toContain('resend started');
  // The operator chose to send it again: one more email, through the policy, recorded under its own key.
  await waitUntil(() => system.smtp.messagesTo(`${resend}@example.com`).length === 2, 30_000, 'the resend');
  await waitUntil(async () => (await system.db.collections.ledger.findOne({ _id: `${resendKey}/resend#1` }))?.reason === 'sent', 10_000, 'the resend recorded');
  const again = await runCli(['unknown', 'resolve', resendKey, '--resend'], system.env);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toContain('not an unsettled unknown outcome');
  expect((await runCli(['unknown', 'list'], system.env)).stdout).toContain(`${CUSTOMERS - 2} unknown outcome(s)`);
  expect((await runCli(['explain', '--user', arrived], system.env)).stdout).toMatch(/settled by cli:.*: sent/);
});
