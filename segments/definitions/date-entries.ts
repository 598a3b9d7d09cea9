/**
 * A journey entered on a date in the profile (`entry: { date: 'profile.birthday', every: 'year',
 * atLocalTime: '09:00' }`) enters on joining its own segment: the customers whose date it is, from
 * that local time for a day. So a date entry is computed, timed, backfilled, recorded and handed to
 * the journey exactly as any segment change is, once per occurrence (each one is a change of its
 * own number), and moves when the date or the customer's time zone changes.
 */
import type { JourneyDefinition } from '../../workflows/sdk/journey.js';
import { dateSegmentId } from '../../workflows/sdk/segment-events.js';
import { defineSegment, type SegmentDefinition } from '../sdk/segment.js';

export function dateEntrySegments(journeys: readonly JourneyDefinition[]): SegmentDefinition[] {
  return journeys.flatMap(({ id, version, entry, fallbackTimeZone }) => {
    if (entry.date === undefined) return [];
    const { date, every, offset, atLocalTime } = entry;
    const where = { date: date.slice('profile.'.length), atLocalTime, fallbackTimeZone, ...(every ? { every } : {}), ...(offset ? { offset } : {}) };
    return [defineSegment({ id: dateSegmentId(id), version, description: `Customers whose ${where.date} it is, for journey ${id} v${version}`, where })];
  });
}
