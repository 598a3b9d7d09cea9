/**
 * The workflow bundle's entry point: one interpreter workflow runs every journey and version; `cleanup`
 * audienceSync, inboundRecovery and rollup are the maintenance schedules'; resendUnknown is an operator's resend;
 * segmentClock and segmentBackfill compute the segments' changes by time and over existing profiles;
 * broadcast sends one occurrence of a broadcast to its segment, and broadcastRecurrence starts a
 * recurring broadcast's occurrences.
 */
import { journeyVersions } from './journeys/index.js';
import { journeyWorkflow } from './sdk/interpreter.js';

export const journey = journeyWorkflow(journeyVersions);

export { audienceSync, cleanup, inboundRecovery, rollup } from './maintenance.js';
export { resendUnknown } from './resend.js';
export { segmentBackfill, segmentClock } from './segments.js';
export { broadcast } from './broadcast.js';
export { broadcastRecurrence } from './broadcast-recurrence.js';
