/**
 * The shipped weekly newsletter on the time-skipping server, its occurrences started by its own
 * calendar (the recurrence workflow): each recipient at 10:00 in their own zone (or the
 * deployment's), on the Monday before the European clocks go forward and the Monday after, so
 * Berlin's 10:00 is 09:00 UTC one week and 08:00 the next; a subscriber who leaves the segment
 * after the audience was taken gets nothing; a VIP (not in the segment) is not in it.
 */
import { Client } from '@temporalio/client';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroadcast, statusOf } from '../broadcasts/control.js';
import { BROADCAST_RECURRENCE_WORKFLOW_TYPE, broadcastRecurrenceId, broadcastWorkflowId, type RecurrenceInput } from '../broadcasts/sdk/run.js';
import { waitUntil } from '../stack/wait-until.js';
import { startJourneyTester, type JourneyTester } from './support/journey-tester.js';
import { sealedDataConverter } from '../platform/payload-codec.js';

let tester: JourneyTester;
/**
 * A plain client on the test server: the environment's own would skip the clock ten years ahead
 * whenever it awaits a result (a finished occurrence's status is its result).
 */
let client: Client;
beforeAll(async () => {
  tester = await startJourneyTester();
  client = new Client({ connection: tester.env.connection, dataConverter: sealedDataConverter(tester.system.config.PAYLOAD_KEYS) });
});
afterAll(() => tester?.close());

const subscribed = { consent: { categories: { newsletter: { email: true } } } };

/** Skips the test server's clock to this UTC moment. */
async function skipTo(utc: DateTime): Promise<void> {
  const now = await tester.now();
  expect(utc.toMillis()).toBeGreaterThan(now);
  await tester.advance(utc.toMillis() - now);
}

/** The occurrence's status once it is done, waited for in real time (its sends run in real time). */
async function done(occurrence: string) {
  const workflowId = broadcastWorkflowId('weekly-newsletter', occurrence);
  await waitUntil(async () => (await statusOf(client, workflowId))?.state === 'done', 60_000, `${occurrence} done`);
  return (await statusOf(client, workflowId))!;
}

/** An occurrence begins at 10:00 on the earliest clock on Earth (UTC+14), the evening before in UTC. */
const begins = (date: string) => DateTime.fromISO(`${date}T10:00`, { zone: 'Pacific/Kiritimati' }).toUTC();

/** Skips to just after the calendar starts the occurrence (an hour before it begins), and waits for it to be there. */
async function startedByItsCalendar(date: string): Promise<void> {
  await skipTo(begins(date).minus({ minutes: 59 }));
  const workflowId = broadcastWorkflowId('weekly-newsletter', date);
  await waitUntil(async () => (await statusOf(client, workflowId))?.state === 'scheduled', 30_000, `${date} started by the calendar`);
}

it('every Monday at 10:00 in each zone across a daylight-saving change, once each week, to who is in the segment when it sends', async () => {
  const now = DateTime.fromMillis(await tester.now(), { zone: 'UTC' });
  const year = now.month >= 3 ? now.year + 1 : now.year;
  // The European clocks go forward on March's last Sunday.
  const lastSunday = DateTime.fromObject({ year, month: 3, day: 31 }, { zone: 'UTC' }).minus({ days: DateTime.fromObject({ year, month: 3, day: 31 }).weekday % 7 });
  const [before, after] = [lastSunday.minus({ days: 6 }).toISODate()!, lastSunday.plus({ days: 1 }).toISODate()!];
  const berlin = await Promise.all([1, 2].map(() => tester.customer({ ...subscribed, timezone: 'Europe/Berlin' })));
  const newYork = await tester.customer({ ...subscribed, timezone: 'America/New_York' });
  const noZone = await tester.customer(subscribed); // the deployment's zone: America/New_York
  const leaver = await tester.customer({ ...subscribed, timezone: 'Europe/Berlin' });
  const vip = await tester.customer({ ...subscribed, vip: true });
  const config = { TEMPORAL_TASK_QUEUE: tester.taskQueue, DEFAULT_TIME_ZONE: tester.system.config.DEFAULT_TIME_ZONE };

  // The calendar, as setup starts it, here from the Monday before: its next occurrence is `before`.
  const calendar: RecurrenceInput = { broadcast: 'weekly-newsletter', after: DateTime.fromISO(before).minus({ days: 7 }).toISODate()! };
  await client.workflow.start(BROADCAST_RECURRENCE_WORKFLOW_TYPE, { workflowId: broadcastRecurrenceId(tester.taskQueue, 'weekly-newsletter'), taskQueue: tester.taskQueue, args: [calendar] });
  await startedByItsCalendar(before);
  // The audience is taken when it begins.
  await skipTo(begins(before).plus({ minutes: 5 }));
  const workflowId = broadcastWorkflowId('weekly-newsletter', before);
  await waitUntil(async () => (await statusOf(client, workflowId))?.state === 'waiting', 30_000, 'the audience taken');
  await leaver.identify({ consent: { categories: { newsletter: { email: false } } } });
  await skipTo(DateTime.fromISO(`${before}T15:00`, { zone: 'UTC' }));
  const first = await done(before);
  expect(first).toMatchObject({ recipients: 5, pending: 0, counts: { sent: 4, 'not-in-segment': 1 } });
  expect(first.groups).toEqual([
    { name: 'Europe/Berlin', at: `${before}T09:00:00.000Z`, recipients: 3, done: 3 },
    { name: 'America/New_York', at: `${before}T14:00:00.000Z`, recipients: 2, done: 2 },
  ]);
  // Berlin's before New York's: each zone is released at its own moment.
  const arrival = (c: { email: string }) => tester.system.smtp.messagesTo(c.email)[0]!.arrivedAt;
  expect(Math.max(...berlin.map(arrival))).toBeLessThan(Math.min(arrival(newYork), arrival(noZone)));

  // Started again by hand: found, not sent again.
  expect(await startBroadcast(client, config, 'weekly-newsletter', before)).toMatchObject({ started: false, status: { state: 'done' } });

  await startedByItsCalendar(after);
  await skipTo(DateTime.fromISO(`${after}T15:00`, { zone: 'UTC' }));
  const second = await done(after);
  expect(second).toMatchObject({ recipients: 4, counts: { sent: 4 } });
  // Summer time in Berlin: 10:00 there is 08:00 UTC now.
  expect(second.groups.map((g) => [g.name, g.at])).toEqual([
    ['Europe/Berlin', `${after}T08:00:00.000Z`],
    ['America/New_York', `${after}T14:00:00.000Z`],
  ]);
  for (const c of [...berlin, newYork, noZone]) expect(c.emailSubjects()).toEqual(['This week at the shop', 'This week at the shop']);
  expect(leaver.emailSubjects()).toEqual([]);
  // The VIP had their own welcome (the vipWelcome journey), not the newsletter.
  expect(vip.emailSubjects()).toEqual(['Welcome to VIP, friend']);
});
