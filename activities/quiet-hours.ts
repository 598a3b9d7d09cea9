/**
 * Quiet hours in the recipient's time zone: a message due inside them is deferred to the moment they
 * end, never dropped. Windows may wrap midnight (21:00-08:00).
 */
import { DateTime } from 'luxon';

export interface QuietHours {
  /** Local time quiet hours start, "HH:MM". */
  start: string;
  /** Local time they end, "HH:MM". */
  end: string;
}

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
};

/** When quiet hours covering `now` end, or undefined if `now` is outside them. */
export function quietHoursEnd(now: Date, zone: string, quiet: QuietHours): Date | undefined {
  const local = DateTime.fromJSDate(now, { zone });
  const minute = local.hour * 60 + local.minute;
  const [start, end] = [minutesOf(quiet.start), minutesOf(quiet.end)];
  const inside = start <= end ? minute >= start && minute < end : minute >= start || minute < end;
  if (!inside) return undefined;
  const [hour, min] = quiet.end.split(':').map(Number);
  let opening = local.set({ hour, minute: min, second: 0, millisecond: 0 });
  if (opening <= local) opening = opening.plus({ days: 1 }).set({ hour, minute: min });
  return opening.toJSDate();
}
