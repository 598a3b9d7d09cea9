/** Broadcast definitions are checked when they load, and against the build when the worker starts. */
import { expect, it } from 'vitest';
import { broadcastNamed, broadcasts } from '../broadcasts/definitions/index.js';
import { journeyVersions } from '../workflows/journeys/index.js';
import { occurrenceOf } from '../broadcasts/control.js';
import { checkBroadcasts, defineBroadcast, type BroadcastDefinition } from '../broadcasts/sdk/broadcast.js';
import { nextOccurrence, occurrenceBegins } from '../broadcasts/sdk/recurrence.js';
import { loadTemplates } from '../activities/templates.js';
import { segmentVersions } from '../segments/definitions/index.js';

const email = { channel: 'email', template: 'weekly-newsletter', category: 'promotions' } as const;
const base: BroadcastDefinition = { id: 'sale', description: 'a sale', segment: 'newsletter', send: email };

it('refuses what would fail at send time: a bad date, a local time without a date form, a zone, a throttle or a goal that does not exist', () => {
  expect(() => defineBroadcast({ ...base, id: 'Sale!' })).toThrow(/the id is letters/);
  expect(() => defineBroadcast({ ...base, at: 'next tuesday' })).toThrow(/not an ISO instant/);
  expect(() => defineBroadcast({ ...base, at: '2026-12-11T09:00:00Z', atLocalTime: '10:00' })).toThrow(/not a date \(YYYY-MM-DD\)/);
  expect(() => defineBroadcast({ ...base, atLocalTime: '25:00' })).toThrow(/not HH:MM/);
  expect(() => defineBroadcast({ ...base, fallbackTimeZone: 'Mars/Olympus' })).toThrow(/not a time zone/);
  expect(() => defineBroadcast({ ...base, throttle: { perMinute: 0 } })).toThrow(/above 0/);
  const order = { id: 'order', event: 'Order Completed', within: '3 days' };
  expect(defineBroadcast({ ...base, goals: [order] }).goals).toEqual([order]);
  expect(() => defineBroadcast({ ...base, goals: [{ ...order, within: 'a while' }] })).toThrow(/goal "order": within "a while" is not a span/);
  expect(() => defineBroadcast({ ...base, goals: [{ ...order, within: '-3 days' }] })).toThrow(/is not a span/);
  expect(() => defineBroadcast({ ...base, goals: [{ ...order, event: ' ' }] })).toThrow(/goal "order": no event/);
  expect(() => defineBroadcast({ ...base, goals: [order, order] })).toThrow(/two goals have one id/);
  expect(() => defineBroadcast({ ...base, send: { journey: 'summerSale' }, goals: [order] })).toThrow(/a broadcast into a journey counts the journey's goals/);
  expect(defineBroadcast({ ...base, at: '2026-12-11', atLocalTime: '10:00', throttle: { perMinute: 600 } })).toMatchObject({ id: 'sale' });
});

it('checks the build’s broadcasts against its segments, templates and journeys, and names an occurrence by its date', async () => {
  const templates = await loadTemplates();
  const builds = { hasTemplate: templates.has, segments: new Set(segmentVersions.map((s) => s.id)), journeys: journeyVersions };
  expect(() => checkBroadcasts(broadcasts, builds)).not.toThrow();
  const others = broadcasts.filter((b) => b.id !== 'summer-sale');
  expect(() => checkBroadcasts([...others, { ...base, segment: 'nowhere' }], builds)).toThrow(/segment "nowhere" is not in the build/);
  expect(() => checkBroadcasts([...others, { ...base, send: { ...email, channel: 'sms' } }], builds)).toThrow(/no sms template "weekly-newsletter"/);
  expect(() => checkBroadcasts([base, base], builds)).toThrow(/defined twice/);
  // Into a journey: one the build has, which enters on this broadcast; and a journey entered by a broadcast has one.
  expect(() => checkBroadcasts([...broadcasts, { ...base, send: { journey: 'nowhere' } }], builds)).toThrow(/broadcast "sale": journey "nowhere" is not in the build/);
  expect(() => checkBroadcasts([...broadcasts, { ...base, send: { journey: 'vipWelcome' } }], builds)).toThrow(/journey "vipWelcome" does not enter on it \(its entry would be \{ broadcast: 'sale' \}\)/);
  expect(() => checkBroadcasts(others, builds)).toThrow(/journey "summerSale" enters on broadcast "summer-sale", which is not in the build/);
  const summerByEmail = { ...broadcastNamed('summer-sale'), send: email };
  expect(() => checkBroadcasts([...others, summerByEmail], builds)).toThrow(/journey "summerSale" enters on broadcast "summer-sale", which enters another journey or sends a message/);
  expect(occurrenceOf(base, undefined, Date.parse('2026-12-04T23:30:00Z'))).toBe('2026-12-04');
  expect(occurrenceOf({ ...base, at: '2026-12-11T09:00:00+01:00' })).toBe('2026-12-11');
  expect(occurrenceOf(base, 'flash-1')).toBe('flash-1');
});

it('a recurring broadcast’s calendar: its dates, the first not yet begun anywhere, and what it refuses', () => {
  const weekly = { every: 'week', on: ['monday', 'thursday'] } as const;
  // Thursday 2026-12-03, 12:00 UTC: Thursday's 10:00 has begun on the earliest clock (UTC+14), so Monday is next.
  const thursdayNoon = Date.parse('2026-12-03T12:00:00Z');
  expect(nextOccurrence(weekly, '10:00', thursdayNoon)).toBe('2026-12-07');
  // At 19:00 UTC on Wednesday, Thursday 10:00 in Kiritimati is an hour away: Thursday is next.
  expect(nextOccurrence(weekly, '10:00', Date.parse('2026-12-02T19:00:00Z'))).toBe('2026-12-03');
  expect(nextOccurrence(weekly, '10:00', thursdayNoon, '2026-12-07')).toBe('2026-12-10');
  expect(nextOccurrence({ every: 'month', on: 1 }, '10:00', thursdayNoon, '2026-12-07')).toBe('2027-01-01');
  expect(nextOccurrence({ every: 'day' }, '10:00', thursdayNoon, '2026-12-31')).toBe('2027-01-01');
  expect(new Date(occurrenceBegins('2026-12-07', '10:00', thursdayNoon)).toISOString()).toBe('2026-12-06T20:00:00.000Z');

  const recurring = { ...base, atLocalTime: '10:00' };
  expect(defineBroadcast({ ...recurring, recurring: weekly })).toMatchObject({ recurring: weekly });
  expect(() => defineBroadcast({ ...base, recurring: weekly })).toThrow(/sends at a local time \(atLocalTime\)/);
  expect(() => defineBroadcast({ ...recurring, at: '2026-12-07', recurring: weekly })).toThrow(/has no `at`/);
  expect(() => defineBroadcast({ ...recurring, recurring: { every: 'week', on: ['mon' as 'monday'] } })).toThrow(/names days of the week/);
  expect(() => defineBroadcast({ ...recurring, recurring: { every: 'month', on: 31 } })).toThrow(/from 1 to 28/);
});
