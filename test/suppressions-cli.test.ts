/** Suppressions from the operator's CLI: added with who and why, listed, lifted (kept as history). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false });
});
afterAll(() => system?.close());

it('adds, lists and lifts a suppression, recording the operator', async () => {
  const userId = uniqueId('cli');
  const add = await runCli(['suppressions', 'add', '--user', userId, '--channel', 'sms', '--reason', 'manual', '--evidence', 'ticket 812'], system.env);
  expect(add.stdout).toContain(`suppressed ${userId} on sms (manual)`);
  expect(await system.db.collections.suppressions.findOne({ kind: 'suppression', userId })).toMatchObject({ channel: 'sms', reason: 'manual', evidence: 'ticket 812', source: expect.stringMatching(/^cli:/) });

  expect((await runCli(['suppressions', 'list', '--user', userId], system.env)).stdout).toMatch(/sms +manual .*active/);

  const lift = await runCli(['suppressions', 'lift', '--user', userId, '--channel', 'sms', '--reason', 'manual'], system.env);
  expect(lift.stdout).toContain('lifted 1 suppression(s)');
  expect(await system.db.collections.suppressions.findOne({ kind: 'suppression', userId })).toMatchObject({ liftedAt: expect.any(Date), liftSource: expect.stringMatching(/^cli:/) });
});

it('refuses what the admin API would refuse, naming the option', async () => {
  const bad = await runCli(['suppressions', 'add', '--user', uniqueId('cli'), '--channel', 'pigeon', '--reason', 'manual'], system.env);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('--channel');
});
