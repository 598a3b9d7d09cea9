/**
 * A recorded stream of real-shaped Segment events (analytics.js and analytics-node payloads:
 * anonymous page views, identify, alias, Product Viewed/Added, Checkout Started, Order Completed, a
 * duplicate delivery and malformed events) replayed through the CLI into the HTTP API on the real
 * stack, driving the shipped journeys.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../stack/paths.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { runCli } from './support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
let streamFile: string;
const run = uniqueId('run');
// Ids made unique to this run, so a Temporal server kept across runs holds no earlier instances of them.
const id = (person: string) => `${person}-${run}`;

beforeAll(async () => {
  system = await startTestSystem({
    journeySettings: { cartAbandonment: { reminderDelay: '3s', orderWindow: '1h' }, browseAbandonment: { browseWindow: '4s' }, welcomeSeries: { followUpDelay: '1h' } },
  });
  const recorded = await readFile(path.join(projectRoot, 'test/fixtures/segment-stream.jsonl'), 'utf8');
  streamFile = path.join(os.tmpdir(), `segment-stream-${run}.jsonl`);
  await writeFile(streamFile, recorded.replace(/"(userId|anonymousId|previousId)": "([^"]+)"/g, (_m, field, value) => `"${field}": "${id(value)}"`));
});
afterAll(() => system?.close());

const replay = () => runCli(['events', 'replay', '--file', streamFile, '--url', system.httpUrl, '--write-key', system.writeKey], system.env);
const handle = (journey: string, person: string) => system.temporal.workflow.getHandle(journeyWorkflowId(journey, person));

it('drives the shipped journeys: each customer gets what their behaviour earned, once', async () => {
  const first = await replay();
  expect(first.stdout).toContain('line 15: rejected: event: event name is required');
  expect(first.stdout).toContain('line 16: rejected: userId: userId or anonymousId is required');
  expect(first.stdout).toMatch(/line 17: rejected: type: /);
  expect(first.stdout).toContain('13 accepted, 1 duplicate, 3 rejected');

  // Ada browsed anonymously, signed up, then bought: a welcome email and nothing else.
  expect(await handle('browseAbandonment', `anonymous:${id('anon-ada')}`).result()).toMatchObject({ status: 'exited', exitEvent: 'Product Added' });
  expect(await handle('cartAbandonment', id('ada')).result()).toMatchObject({ status: 'exited', exitEvent: 'Order Completed' });
  expect(await system.settledReasons(id('ada'))).toEqual(['welcome-email:sent']);
  const adaProfile = await system.db.collections.profiles.findOne({ _id: id('ada') });
  expect(adaProfile?.traits).toMatchObject({ phone: '+447911123456', consent: { email: true } });

  // Bo abandoned the checkout (delivered twice by the CDP): one journey, one reminder.
  expect(await system.settledReasons(id('bo'))).toEqual(['cart-reminder-email:sent']);
  expect(system.smtp.messagesTo('bo@shop.example')).toHaveLength(1);

  // Cy viewed anonymously and was aliased to an account: the reminder reaches the account's address.
  await handle('browseAbandonment', `anonymous:${id('anon-cy')}`).result();
  expect(await system.reasons(id('cy'))).toEqual(['browse-reminder-email:sent']);
  expect(system.smtp.messagesTo('cy@shop.example')).toHaveLength(1);
  await expect(handle('browseAbandonment', id('cy')).describe()).rejects.toThrow();

  // The same export replayed again has no effect at all.
  const cartRun = (await handle('cartAbandonment', id('bo')).describe()).runId;
  const second = await replay();
  expect(second.stdout).toContain('0 accepted, 14 duplicate, 3 rejected');
  expect((await handle('cartAbandonment', id('bo')).describe()).runId).toBe(cartRun);
  expect(system.smtp.messagesTo('bo@shop.example')).toHaveLength(1);
});
