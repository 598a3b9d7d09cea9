/** Data of earlier versions moves into today's collections at worker start, once, whoever starts first. */
import { ObjectId, type Document } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateIntoPolicyRecords } from '../store/migrations.js';
import { mergeTraits } from '../store/profiles.js';
import { deliverer, deliveryRequest } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false, frequencyCap: '1/24h' });
});
afterAll(() => system?.close());

it('moves suppressions and cap grants from their old collections into policy_records, and they hold', async () => {
  const [suppressed, capped] = [uniqueId('old-supp'), uniqueId('old-grant')];
  for (const userId of [suppressed, capped]) await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com` });
  await system.db.db.collection('suppressions').insertOne({ _id: new ObjectId(), userId: suppressed, channel: 'email', reason: 'unsubscribe', source: 'v1', createdAt: new Date() });
  await system.db.db.collection<Document & { _id: string }>('cap_grants').insertOne({ _id: `marketing-all-channels:${capped}#0`, rule: 'marketing-all-channels', userId: capped, seq: 0, at: new Date(), sendKey: 'old-send' });

  // Two workers starting at once: whichever finds the old collections copies them, neither fails.
  // The other saw nothing (undefined), copied the same document again (1), or listed the collection
  // just before the first renamed it and so read it empty (0).
  const runs = await Promise.all([migrateIntoPolicyRecords(system.db), migrateIntoPolicyRecords(system.db)]);
  expect(runs.map((r) => r.suppressions)).toContain(1);
  expect(runs.every((r) => [undefined, 0, 1].includes(r.suppressions))).toBe(true);
  expect(await system.db.collections.suppressions.countDocuments({ kind: 'suppression', userId: suppressed })).toBe(1);
  expect(await migrateIntoPolicyRecords(system.db)).toEqual({});
  const names = (await system.db.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  expect(names).toEqual(expect.arrayContaining(['suppressions_before_policy_records', 'cap_grants_before_policy_records']));
  expect(names).not.toContain('suppressions');

  const { deliver } = deliverer(system.config, system.db);
  expect((await deliver(deliveryRequest(suppressed))).reason).toBe('suppressed:unsubscribe');
  expect((await deliver(deliveryRequest(capped))).reason).toBe('capped:marketing-all-channels');
  expect(system.smtp.messagesTo(`${suppressed}@example.com`)).toHaveLength(0);
});
