/**
 * Journeys entered on a date in the profile, on the time-skipping server: the birthday greeting at
 * 09:00 in the customer's zone across a daylight-saving change, once each year; the renewal reminder
 * seven days before the date at 10:00 in the journey's fallback zone, moved when the date moves.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { changeId } from '../../store/segment-memberships.js';
import { journeyWorkflowId, stateQuery, type JourneyState } from '../../workflows/sdk/definitions.js';
import { waitUntil } from '../../stack/wait-until.js';
import { startJourneyTester, type JourneyTester } from '../support/journey-tester.js';

let tester: JourneyTester;
beforeAll(async () => {
  tester = await startJourneyTester();
});
afterAll(() => tester?.close());

/** Skips the test server's clock to this local moment. */
async function skipTo(local: string, zone: string): Promise<void> {
  const target = DateTime.fromISO(local, { zone }).toMillis();
  const now = await tester.now();
  expect(target).toBeGreaterThan(now);
  await tester.advance(target - now);
}

/**
 * The latest run once it has completed, waited for in real time, and what it entered on: awaiting
 * its result from the time-skipping server would skip the clock ten years ahead (to the next
 * deadline it knows of, a run's default timeout), far past the dates here.
 */
async function finished(userId: string, journeyId: string): Promise<JourneyState> {
  const handle = tester.env.client.workflow.getHandle(journeyWorkflowId(journeyId, userId));
  await waitUntil(async () => (await handle.describe()).status.name === 'COMPLETED', 30_000, `${journeyId} completed`);
  return handle.query(stateQuery);
}

/** The next year in which this month and day are still ahead of the test server's clock, with the year after. */
async function yearsAhead(monthDay: string): Promise<[number, number]> {
  const now = DateTime.fromMillis(await tester.now(), { zone: 'UTC' });
  const year = DateTime.fromISO(`${now.year}-${monthDay}`) > now.plus({ days: 1 }) ? now.year : now.year + 1;
  return [year, year + 1];
}

it('greets on the birthday at 09:00 Berlin time after the clocks went forward, and again the next year, each entered on its own change', async () => {
  const [year, next] = await yearsAhead('04-02'); // after the last Sunday of March: Berlin is on summer time
  const ida = await tester.customer({ first_name: 'Ida', birthday: '1991-04-02', timezone: 'Europe/Berlin' });
  await skipTo(`${year}-04-02T08:59`, 'Europe/Berlin');
  await ida.timePassed();
  expect(ida.emailSubjects()).toEqual([]);
  await skipTo(`${year}-04-02T09:01`, 'Europe/Berlin');
  await ida.timePassed();
  expect(await ida.waitForEmails(1)).toEqual(['Happy birthday, Ida!']);
  const first = await finished(ida.userId, 'birthdayGreeting');
  expect(first.entry).toMatchObject({ event: 'segment:birthdayGreeting-date:joined', messageId: changeId('birthdayGreeting-date@1', ida.userId, 1) });
  // 09:00 CEST is 07:00 UTC: the occurrence is at its wall-clock time, not an hour off.
  expect(first.entry!.at).toBe(DateTime.fromISO(`${year}-04-02T09:00`, { zone: 'Europe/Berlin' }).toUTC().toISO());

  await skipTo(`${next}-04-02T09:01`, 'Europe/Berlin');
  await ida.timePassed();
  expect(await ida.waitForEmails(2)).toEqual(['Happy birthday, Ida!', 'Happy birthday, Ida!']);
  // Joined, left a day later, joined again: the second year's greeting entered on change 3.
  expect((await finished(ida.userId, 'birthdayGreeting')).entry?.messageId).toBe(changeId('birthdayGreeting-date@1', ida.userId, 3));
  await ida.timePassed(); // the clock applying the moment again
  expect(ida.emailSubjects()).toHaveLength(2);
});

it('gives a VIP the larger gift: the branch reads the vip segment as it stands that morning', async () => {
  const [year] = await yearsAhead('05-05');
  const val = await tester.customer({ first_name: 'Val', birthday: '1985-05-05', vip: true });
  await skipTo(`${year}-05-05T09:01`, 'America/New_York'); // no time zone in the profile: the journey's fallback
  await val.timePassed();
  expect(await val.waitForEmails(2)).toEqual(['Welcome to VIP, Val', 'Happy birthday, Val: a gift for our VIPs']);
  expect((await finished(val.userId, 'birthdayGreeting')).steps.map((step) => `${step.stepId}:${step.outcome}`)).toEqual(['vip-gift:branch:vip', 'birthday-vip-email:sent']);
});

it('reminds seven days before the renewal date at 10:00 New York time, and follows the date when it moves', async () => {
  const [year] = await yearsAhead('06-20');
  const kept = await tester.customer({ first_name: 'Kim', renewal_date: `${year}-06-20` });
  const moved = await tester.customer({ first_name: 'Mo', renewal_date: `${year}-06-20` });
  await moved.identify({ renewal_date: `${year}-07-20` });
  await skipTo(`${year}-06-13T09:59`, 'America/New_York');
  for (const c of [kept, moved]) await c.timePassed();
  expect(kept.emailSubjects()).toEqual([]);
  await skipTo(`${year}-06-13T10:01`, 'America/New_York');
  for (const c of [kept, moved]) await c.timePassed();
  expect(await kept.waitForEmails(1)).toEqual([`Your subscription renews on ${year}-06-20`]);
  expect(moved.emailSubjects()).toEqual([]);
  await skipTo(`${year}-07-13T10:01`, 'America/New_York');
  await moved.timePassed();
  expect(await moved.waitForEmails(1)).toEqual([`Your subscription renews on ${year}-07-20`]);
  expect((await finished(moved.userId, 'renewalReminder')).steps.map((step) => step.outcome)).toEqual(['sent']);
});
