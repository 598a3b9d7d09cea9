/**
 * A recurring broadcast's calendar: which dates it has an occurrence on (each named by its date),
 * and when each occurrence begins. Plain date arithmetic on the definition, so the recurrence
 * workflow and the CLI agree. No Node imports: the workflow's sandbox reads this file.
 */
import { DateTime } from 'luxon';
import { targetTime } from '../../workflows/sdk/local-time.js';

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Every day; on some days of each week; or on one day of each month (up to the 28th, which every month has). */
export type Recurrence = { every: 'day' } | { every: 'week'; on: readonly Weekday[] } | { every: 'month'; on: number };

/** The earliest wall clock on Earth (UTC+14): a local-time occurrence begins at its moment there. */
export const EARLIEST_ZONE = 'Pacific/Kiritimati';

/** Why a recurrence cannot be, or undefined. */
export function recurrenceProblem(recurring: Recurrence): string | undefined {
  if (recurring.every === 'week') {
    if (!recurring.on.length || recurring.on.some((d) => !WEEKDAYS.includes(d))) return `recurring.on names days of the week (${WEEKDAYS.join(', ')})`;
  } else if (recurring.every === 'month') {
    if (!(Number.isInteger(recurring.on) && recurring.on >= 1 && recurring.on <= 28)) return 'recurring.on is a day of the month from 1 to 28';
  } else if (recurring.every !== 'day') return 'recurring.every is day, week or month';
  return undefined;
}

/** As people read it: `every day`, `every monday and thursday`, `every month on day 1`. */
export function describeRecurrence(recurring: Recurrence): string {
  if (recurring.every === 'day') return 'every day';
  if (recurring.every === 'week') return `every ${recurring.on.join(' and ')}`;
  return `every month on day ${recurring.on}`;
}

function falls(recurring: Recurrence, date: DateTime): boolean {
  if (recurring.every === 'day') return true;
  if (recurring.every === 'week') return recurring.on.includes(WEEKDAYS[date.weekday - 1]!);
  return date.day === recurring.on;
}

/** When an occurrence on `date` begins: `atLocalTime` on that date on the earliest clock. */
export const occurrenceBegins = (date: string, atLocalTime: string, now: number) => targetTime({ now, zone: EARLIEST_ZONE, date, atLocalTime });

/**
 * The next occurrence's date: the first the calendar names after `after` (the last one started);
 * without one, the first that has not begun by `now` (a recurrence set up late does not start one
 * already under way somewhere on Earth).
 */
export function nextOccurrence(recurring: Recurrence, atLocalTime: string, now: number, after?: string): string {
  let date = after ? DateTime.fromISO(after, { zone: 'utc' }).plus({ days: 1 }) : DateTime.fromMillis(now, { zone: 'utc' }).minus({ days: 1 }).startOf('day');
  // A month has every rule's day at least once.
  for (let i = 0; i < 62; i++, date = date.plus({ days: 1 })) {
    const iso = date.toISODate()!;
    if (falls(recurring, date) && (after || occurrenceBegins(iso, atLocalTime, now) > now)) return iso;
  }
  throw new Error('no occurrence in the next two months'); // recurrenceProblem rules this out
}
