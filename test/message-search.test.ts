/**
 * The console's newest-first message search reads the ledger hour by hour (store/ledger-hours.ts):
 * sends stamp their hour and list it; the search returns the newest entries in order, across hours,
 * days and filters, and finds a rare journey far back; entries from before the hours were kept get
 * theirs at worker start, once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EVERY_ENTRY_LISTED, hourOf, newestEntries, noteHour } from '../store/ledger-hours.js';
import type { LedgerDoc } from '../store/ledger.js';
import { listLedgerHours } from '../store/migrations.js';
import { emailSentTo } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false });
});
afterAll(() => system?.close());

const HOUR = 3_600_000;
const now = Date.now();

/** An entry written `hoursAgo` (plus `minute` minutes) back, as the delivery path writes it. */
function entry(id: string, journeyId: string, hoursAgo: number, minute: number, reason = 'sent'): LedgerDoc {
  const at = new Date(now - hoursAgo * HOUR + minute * 60_000);
  return { _id: id, userId: `u-${id}`, journeyId, stepId: 's', workflowId: `wf-${id}`, channel: 'email', subject: 't', category: 'marketing', status: 'done', delivered: reason === 'sent', reason, at, hour: hourOf(at) };
}

it('a send stamps its hour and lists it', async () => {
  const userId = uniqueId('hour');
  expect((await emailSentTo(system.config, system.db, userId)).reason).toBe('sent');
  const [sent] = await system.db.collections.ledger.find({ userId }).toArray();
  expect(sent!.hour).toBe(hourOf(sent!.at));
  expect(await system.db.collections.ledgerHours.findOne({ _id: sent!.hour! })).not.toBeNull();
});

it('returns the newest entries first across hours and days, filtered, and reaches a rare journey far back', async () => {
  const prefix = uniqueId('search');
  // 72 hours back from now, three entries an hour, alternating between two journeys; one rare
  // journey 60 hours back, past the hour-by-hour walk; one refused entry 30 hours back.
  const entries: LedgerDoc[] = [];
  for (let h = 1; h <= 72; h++) for (let m = 0; m < 3; m++) entries.push(entry(`${prefix}-${h}-${m}`, h % 2 ? `${prefix}-a` : `${prefix}-b`, h, m * 10));
  entries.push(entry(`${prefix}-rare`, `${prefix}-rare`, 60, 5));
  entries.push(entry(`${prefix}-refused`, `${prefix}-b`, 30, 1, 'failed:550'));
  for (const e of entries) await noteHour(system.db.collections.ledgerHours, e.hour!);
  await system.db.collections.ledger.insertMany(entries);
  const ours = (e: LedgerDoc) => e._id.startsWith(prefix);
  const newest = [...entries].sort((x, y) => y.at.getTime() - x.at.getTime());

  const first = (await newestEntries(system.db.collections, { equal: {}, matches: ours }, 10)).map((e) => e._id);
  expect(first).toEqual(newest.slice(0, 10).map((e) => e._id));

  const onlyA = await newestEntries(system.db.collections, { equal: { journeyId: `${prefix}-a` } }, 40);
  expect(onlyA.map((e) => e._id)).toEqual(newest.filter((e) => e.journeyId === `${prefix}-a`).slice(0, 40).map((e) => e._id));

  expect((await newestEntries(system.db.collections, { equal: { journeyId: `${prefix}-rare` } }, 10)).map((e) => e._id)).toEqual([`${prefix}-rare`]);

  const refused = await newestEntries(system.db.collections, { equal: { journeyId: `${prefix}-b` }, matches: (e) => e.reason.startsWith('failed') }, 10);
  expect(refused.map((e) => e._id)).toEqual([`${prefix}-refused`]);

  const day = newest[100]!.hour!.slice(0, 10);
  const ofDay = await newestEntries(system.db.collections, { equal: {}, matches: ours, from: day, to: day }, 500);
  expect(ofDay.map((e) => e._id)).toEqual(newest.filter((e) => e.hour!.startsWith(day)).map((e) => e._id));
});

it('gives entries from before the hours were kept their hour at start, once', async () => {
  const prefix = uniqueId('old');
  const { hour: _hour, ...old } = entry(`${prefix}-1`, `${prefix}-j`, 500, 0);
  await system.db.collections.ledger.insertOne(old);
  await system.db.collections.ledgerHours.deleteOne({ _id: EVERY_ENTRY_LISTED });

  expect(await listLedgerHours(system.db)).toBeGreaterThanOrEqual(1);
  expect(await listLedgerHours(system.db)).toBe(0);
  expect((await newestEntries(system.db.collections, { equal: { journeyId: `${prefix}-j` } }, 10)).map((e) => e._id)).toEqual([`${prefix}-1`]);
});
