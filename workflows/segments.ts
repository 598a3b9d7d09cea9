/**
 * The segments' workflows: the clock (a schedule, see platform/maintenance-schedules.ts) and one
 * backfill per new segment version, started once by setup.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { SegmentActivities } from '../activities/segment-activities.js';
import type { ClockReport } from '../segments/clock.js';

const { applyDueSegmentChanges } = proxyActivities<SegmentActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

export async function segmentClock(): Promise<ClockReport> {
  return applyDueSegmentChanges();
}

const { backfillSegmentVersion } = proxyActivities<SegmentActivities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes' },
});

export async function segmentBackfill(segment: string): Promise<{ processed: number; total: number }> {
  return backfillSegmentVersion(segment);
}
