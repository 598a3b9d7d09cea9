import { describe, expect, it } from 'vitest';
import { quietHoursEnd } from '../activities/quiet-hours.js';

const smsNights = { start: '21:00', end: '08:00' };

describe('quiet hours', () => {
  it('defers a 2 a.m. text to 08:00 the same morning, local time', () => {
    const end = quietHoursEnd(new Date('2026-11-23T07:00:00Z'), 'America/New_York', smsNights); // 02:00 EST
    expect(end?.toISOString()).toBe('2026-11-23T13:00:00.000Z');
  });

  it('defers a 22:00 text to 08:00 the next morning', () => {
    const end = quietHoursEnd(new Date('2026-11-23T21:00:00Z'), 'Europe/London', smsNights);
    expect(end?.toISOString()).toBe('2026-11-24T08:00:00.000Z');
  });

  it('lets daytime messages through', () => {
    expect(quietHoursEnd(new Date('2026-11-23T15:00:00Z'), 'Europe/London', smsNights)).toBeUndefined();
  });

  it('opens at 08:00 on the wall clock on the night the clocks change', () => {
    // US daylight saving time starts at 02:00 on 14 March 2027: quiet hours began in EST, end in EDT.
    const end = quietHoursEnd(new Date('2027-03-14T06:30:00Z'), 'America/New_York', smsNights); // 01:30 EST
    expect(end?.toISOString()).toBe('2027-03-14T12:00:00.000Z'); // 08:00 EDT (UTC-4)
  });

  it('handles windows that do not wrap midnight', () => {
    const lunch = { start: '12:00', end: '13:30' };
    expect(quietHoursEnd(new Date('2026-11-23T12:15:00Z'), 'UTC', lunch)?.toISOString()).toBe('2026-11-23T13:30:00.000Z');
    expect(quietHoursEnd(new Date('2026-11-23T13:30:00Z'), 'UTC', lunch)).toBeUndefined();
  });
});
