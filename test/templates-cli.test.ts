/** Template preview and test-send from the CLI, rendered with a real customer's stored profile. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mergeTraits } from '../store/profiles.js';
import { runCli } from './support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
let userId: string;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false });
  userId = uniqueId('preview');
  await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com`, first_name: 'Priya', phone: '+14155550123' });
});
afterAll(() => system?.close());

const cart = JSON.stringify({ products: [{ name: 'Lamp' }, { name: 'Rug' }], value: 30, currency: 'EUR' });

it('previews an email for a customer, with their traits and the event', async () => {
  const { stdout, code } = await runCli(['templates', 'preview', 'cart-reminder', '--user', userId, '--event', cart], system.env);
  expect(code).toBe(0);
  expect(stdout).toContain('Subject: You left 2 item(s) in your cart');
  expect(stdout).toContain('Hi Priya,');
  expect(stdout).toContain(`${system.config.PUBLIC_BASE_URL}/unsubscribe?token=`);
});

it('previews an SMS with its segment count', async () => {
  const { stdout } = await runCli(['templates', 'preview', 'cart-reminder-sms', '--user', userId], system.env);
  expect(stdout).toMatch(/^SMS \(1 segment\(s\), GSM-7\):\nYour cart is still waiting, Priya\./m);
});

it("test-sends to a test inbox, not the customer's, and leaves no trace in the ledger", async () => {
  const { stdout, code } = await runCli(['templates', 'test-send', 'welcome', '--user', userId, '--to', 'qa@shop.example'], system.env);
  expect(code, stdout).toBe(0);
  const [mail] = system.smtp.messagesTo('qa@shop.example');
  expect(mail?.subject).toBe('[test] Welcome to the shop, Priya');
  expect(system.smtp.messagesTo(`${userId}@example.com`)).toEqual([]);
  expect(await system.reasons(userId)).toEqual([]);
});

it('names an unknown template', async () => {
  const { stderr, code } = await runCli(['templates', 'preview', 'no-such', '--user', userId], system.env);
  expect(code).not.toBe(0);
  expect(stderr).toContain('no template "no-such" in this build');
});
