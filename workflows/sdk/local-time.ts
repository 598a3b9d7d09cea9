/**
 * Moments in a customer's time zone, DST-correct: "3 days after delivery, at 10:00 local" stays
 * 10:00 on the wall clock across a daylight-saving change. Pure functions of their inputs (the
 * workflow passes its own clock), so they are deterministic inside workflows.
 */
import { DateTime, Duration, type DurationLikeObject } from 'luxon';

const UNITS: Record<string, keyof DurationLikeObject> = {
  s: 'seconds', sec: 'seconds', second: 'seconds', seconds: 'seconds',
  m: 'minutes', min: 'minutes', minute: 'minutes', minutes: 'minutes',
  h: 'hours', hour: 'hours', hours: 'hours',
  d: 'days', day: 'days', days: 'days',
  w: 'weeks', week: 'weeks', weeks: 'weeks',
};

/** A wall-clock time of day, HH:MM. */
export const LOCAL_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** '3 days', '-7 days', '12h', '30s': calendar units, so days keep the local time of day. */
export function parseOffset(text: string): DurationLikeObject {
  const match = /^(-?\d+)\s*([a-z]+)$/.exec(text.trim());
  const unit = match && UNITS[match[2]!];
  if (!match || !unit) throw new Error(`"${text}" is not an offset like "3 days" or "-7 days"`);
  return { [unit]: Number(match[1]) };
}

/** Whether the text is an offset `parseOffset` reads. */
export function isOffset(text: string): boolean {
  try {
    parseOffset(text);
    return true;
  } catch {
    return false;
  }
}

/** A span in milliseconds ('7 days' = 7 × 24 h), for windows measured back from a moment. */
export function spanMs(text: string | number): number {
  return typeof text === 'number' ? text : Duration.fromObject(parseOffset(text)).toMillis();
}

export function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && DateTime.fromISO(value).isValid;
}

export function isValidZone(zone: string | undefined): zone is string {
  return !!zone && DateTime.now().setZone(zone).isValid;
}

/**
 * The moment to wait for, in epoch milliseconds. `date`: an ISO timestamp or date to start from
 * (default: now); `offset` is added in the zone's calendar; `atLocalTime` then sets the wall-clock
 * time. Without a date, a local time already past today means the same time tomorrow.
 */
export function targetTime(options: { now: number; zone: string; date?: string; offset?: string; atLocalTime?: string }): number {
  let moment = options.date
    ? DateTime.fromISO(options.date, { zone: options.zone })
    : DateTime.fromMillis(options.now, { zone: options.zone });
  if (!moment.isValid) throw new Error(`"${options.date}" is not an ISO date`);
  if (options.offset) moment = moment.plus(parseOffset(options.offset));
  if (options.atLocalTime) {
    const [hour, minute] = options.atLocalTime.split(':').map(Number);
    moment = moment.set({ hour, minute, second: 0, millisecond: 0 });
    if (!options.date && moment.toMillis() <= options.now) moment = moment.plus({ days: 1 }).set({ hour, minute });
  }
  return moment.toMillis();
}
