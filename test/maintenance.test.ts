/**
 * Expiring data on FerretDB (no TTL indexes): the cleanup schedule marks expired suppressions lifted
 * and deletes ledger entries, dedupe claims and cap grants past their retention, leaving the rest.
 * And an expired suppression stops blocking sends at once, before any cleanup runs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupScheduleId, ensureSchedules, rollupScheduleId } from '../platform/maintenance-schedules.js';
import { waitUntil } from '../stack/wait-until.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ journeySettings: { browseAbandonment: { browseWindow: '1s' } } });
});
afterAll(() => system?.close());

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);

it('the cleanup schedule removes what has expired and keeps what has not', async () => {
  const { ledger, inboundEvents, grants, suppressions } = system.db.collections;
  const entry = (id: string, at: Date) => ({
    _id: id, userId: 'u', journeyId: 'j', stepId: 's', workflowId: 'w', channel: 'email' as const, subject: 't',
    category: 'marketing', status: 'done' as const, delivered: true, reason: 'sent', at,
  });
  await ledger.insertMany([entry('old-entry', ago(500 * DAY)), entry('recent-entry', ago(DAY))]);
  await inboundEvents.insertMany([
    { _id: 'k:old-message', receivedAt: ago(60 * DAY) },
    { _id: 'k:old-message#processed', receivedAt: ago(60 * DAY) },
    { _id: 'k:recent-message', receivedAt: ago(DAY) },
    { _id: 'k:recent-message#processed', receivedAt: ago(DAY) },
  ]);
  await grants.insertMany([
    { _id: 'marketing-all-channels:u#0', kind: 'grant', rule: 'marketing-all-channels', userId: 'u', seq: 0, at: ago(2 * DAY), sendKey: 'a' },
    { _id: 'marketing-all-channels:u#1', kind: 'grant', rule: 'marketing-all-channels', userId: 'u', seq: 1, at: ago(60_000), sendKey: 'b' },
  ]);
  await suppressions.insertMany([
    { kind: 'suppression', userId: 'u', channel: 'email', reason: 'manual', source: 'test', createdAt: ago(DAY), expiresAt: ago(60_000) },
    { kind: 'suppression', userId: 'u', channel: 'sms', reason: 'manual', source: 'test', createdAt: ago(DAY), expiresAt: new Date(Date.now() + DAY) },
    { kind: 'suppression', userId: 'u', channel: '*', reason: 'erasure', source: 'test', createdAt: ago(DAY) },
  ]);

  await system.temporal.schedule.getHandle(cleanupScheduleId(system.config.TEMPORAL_TASK_QUEUE)).trigger();
  await waitUntil(async () => (await ledger.countDocuments({ _id: 'old-entry' })) === 0, 30_000, 'the cleanup');
  await waitUntil(async () => (await suppressions.countDocuments({ liftSource: 'expired' })) === 1, 10_000, 'the expired suppression');

  expect((await ledger.find({ _id: { $in: ['old-entry', 'recent-entry'] } }).toArray()).map((d) => d._id)).toEqual(['recent-entry']);
  expect((await inboundEvents.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual(['k:recent-message', 'k:recent-message#processed']);
  expect((await grants.find({ kind: 'grant', userId: 'u' }).toArray()).map((d) => d.seq)).toEqual([1]);
  const kept = await suppressions.find({ kind: 'suppression', userId: 'u' }).sort({ channel: 1 }).toArray();
  expect(kept.map((s) => [s.channel, s.liftSource ?? 'active'])).toEqual([['*', 'active'], ['email', 'expired'], ['sms', 'active']]);
});

it('an expired suppression no longer blocks, before any cleanup', async () => {
  const userId = uniqueId('paused');
  await system.identify(userId, { email: `${userId}@example.com` });
  const response = await system.admin('/admin/suppressions', {
    userId,
    channel: 'email',
    reason: 'manual',
    expiresAt: new Date(Date.now() + 1_000).toISOString(),
  });
  expect(response.status).toBe(201);
  await sleep(1_500);
  await system.track(userId, 'Product Viewed', { name: 'Lamp' });
  await system.journeyResult(userId, 'browseAbandonment');
  expect(await system.reasons(userId)).toEqual(['browse-reminder-email:sent']);
});

it('setup changes a maintenance schedule only when its configuration changed', async () => {
  const handle = system.temporal.schedule.getHandle(rollupScheduleId(system.config.TEMPORAL_TASK_QUEUE));
  const before = await handle.describe();
  // Setup runs at every start of every process: a second run with the same configuration writes nothing.
  await ensureSchedules(system.temporal, system.config);
  expect((await handle.describe()).info.lastUpdatedAt).toEqual(before.info.lastUpdatedAt);

  await ensureSchedules(system.temporal, { ...system.config, ROLLUP_INTERVAL: 7_000 });
  const changed = await handle.describe();
  expect(changed.spec.intervals).toMatchObject([{ every: 7_000 }]);
  expect(changed.info.lastUpdatedAt).not.toEqual(before.info.lastUpdatedAt);
  await ensureSchedules(system.temporal, system.config);
  expect((await handle.describe()).spec.intervals).toMatchObject([{ every: system.config.ROLLUP_INTERVAL }]);
});
