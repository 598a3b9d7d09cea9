/** Broadcast definitions are checked when they load, and against the build when the worker starts. */
import { expect, it } from 'vitest';
import { broadcasts } from '../broadcasts/definitions/index.js';
import { occurrenceOf } from '../broadcasts/control.js';
import { checkBroadcasts, defineBroadcast, type BroadcastDefinition } from '../broadcasts/sdk/broadcast.js';
import { loadTemplates } from '../activities/templates.js';
import { segmentVersions } from '../segments/definitions/index.js';

const base: BroadcastDefinition = { id: 'sale', description: 'a sale', segment: 'newsletter', send: { channel: 'email', template: 'weekly-newsletter', category: 'promotions' } };

it('refuses what would fail at send time: a bad date, a local time without a date form, a zone or a throttle that does not exist', () => {
  expect(() => defineBroadcast({ ...base, id: 'Sale!' })).toThrow(/the id is letters/);
  expect(() => defineBroadcast({ ...base, at: 'next tuesday' })).toThrow(/not an ISO instant/);
  expect(() => defineBroadcast({ ...base, at: '2026-12-11T09:00:00Z', atLocalTime: '10:00' })).toThrow(/not a date \(YYYY-MM-DD\)/);
  expect(() => defineBroadcast({ ...base, atLocalTime: '25:00' })).toThrow(/not HH:MM/);
  expect(() => defineBroadcast({ ...base, fallbackTimeZone: 'Mars/Olympus' })).toThrow(/not a time zone/);
  expect(() => defineBroadcast({ ...base, throttle: { perMinute: 0 } })).toThrow(/above 0/);
  expect(defineBroadcast({ ...base, at: '2026-12-11', atLocalTime: '10:00', throttle: { perMinute: 600 } })).toMatchObject({ id: 'sale' });
});

it('checks the build’s broadcasts against its segments and templates, and names an occurrence by its date', async () => {
  const templates = await loadTemplates();
  const builds = { hasTemplate: templates.has, segments: new Set(segmentVersions.map((s) => s.id)) };
  expect(() => checkBroadcasts(broadcasts, builds)).not.toThrow();
  expect(() => checkBroadcasts([{ ...base, segment: 'nowhere' }], builds)).toThrow(/segment "nowhere" is not in the build/);
  expect(() => checkBroadcasts([{ ...base, send: { ...base.send, channel: 'sms' } }], builds)).toThrow(/no sms template "weekly-newsletter"/);
  expect(() => checkBroadcasts([base, base], builds)).toThrow(/defined twice/);
  expect(occurrenceOf(base, undefined, Date.parse('2026-12-04T23:30:00Z'))).toBe('2026-12-04');
  expect(occurrenceOf({ ...base, at: '2026-12-11T09:00:00+01:00' })).toBe('2026-12-11');
  expect(occurrenceOf(base, 'flash-1')).toBe('flash-1');
});
