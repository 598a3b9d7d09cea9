/**
 * A segment membership change as journeys hear it: an event named for the segment and the way the
 * customer went, whose messageId is the change's id (store/segment-memberships.ts), so an instance
 * acts on a change once however often it is delivered. The names are the engine's own: ingestion
 * refuses a track event that takes one, so no CDP can start a segment's journeys.
 */
import { broadcastOfEvent } from './broadcast-events.js';

export type SegmentTransition = 'join' | 'leave';

export const SEGMENT_EVENT_PREFIX = 'segment:';

export const segmentEvent = (segment: string, on: SegmentTransition) => `${SEGMENT_EVENT_PREFIX}${segment}:${on === 'join' ? 'joined' : 'left'}`;

/** The segment of customers whose date it is, for a journey entered on a date (one version per journey version). */
export const dateSegmentId = (journeyId: string) => `${journeyId}-date`;

/** For `exitOn` and `waitForEvent`: the customer joined the segment. */
export const joinedSegment = (segment: string) => segmentEvent(segment, 'join');
/** For `exitOn` and `waitForEvent`: the customer left the segment. */
export const leftSegment = (segment: string) => segmentEvent(segment, 'leave');

const SEGMENT_EVENT = /^segment:(.+):(joined|left)$/;

/** The segment a segment event names; undefined for any other event. */
export function segmentOfEvent(name: string): string | undefined {
  return SEGMENT_EVENT.exec(name)?.[1];
}

/** An event's name as people read it: `"Order Completed"`, `joining segment lapsed`, or `broadcast summer-sale`. */
export function describeEvent(name: string): string {
  const match = SEGMENT_EVENT.exec(name);
  if (match) return `${match[2] === 'joined' ? 'joining' : 'leaving'} segment ${match[1]}`;
  const broadcast = broadcastOfEvent(name);
  return broadcast === undefined ? `"${name}"` : `broadcast ${broadcast}`;
}
