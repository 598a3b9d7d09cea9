/**
 * The segments' workflows: the clock (a schedule, see platform/maintenance-schedules.ts) and one
 * backfill per new segment version, started once by setup.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { SegmentActivities } from '../activities/segment-activities.js';
import type { ClockReport } from '../segments/clock.js';

const { applyDueSegmentChanges } = proxyActivities<SegmentActivities>({
  startToCloseTimeout: '5 minutes',
  // It heartbeats per customer: a run whose worker died is retried this soon, not after 5 minutes
  // in which the schedule, never overlapping itself, would skip every tick.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

export async function segmentClock(): Promise<ClockReport> {
  return applyDueSegmentChanges();
}

const { backfillSegmentVersion } = proxyActivities<SegmentActivities>({
  startToCloseTimeout: '24 hours',
  // A page heartbeats within a second or two: a dead worker's backfill moves on to another this soon
  // (an attempt that misses it on a slow page stops after that page, and its retry goes on from there).
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes' },
});

export async function segmentBackfill(segment: string): Promise<{ processed: number; total: number }> {
  return backfillSegmentVersion(segment);
}
