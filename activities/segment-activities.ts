/** The segment clock's and the backfills' activities (segments/clock.ts, segments/backfill.ts). */
import { Context, heartbeat } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Database } from '../store/db.js';
import { backfillSegment } from '../segments/backfill.js';
import { applyDueChanges, type ClockReport } from '../segments/clock.js';
import type { SegmentEngine } from '../segments/engine.js';

export interface SegmentActivities {
  applyDueSegmentChanges(): Promise<ClockReport>;
  backfillSegmentVersion(segment: string): Promise<{ processed: number; total: number }>;
}

/** `segments`: the deployment's engine, which hands the changes time makes to the router (built on first use). */
export function createSegmentActivities(db: Database, segments: () => Promise<SegmentEngine>): SegmentActivities {
  return {
    applyDueSegmentChanges: async () => applyDueChanges(db, await segments(), Date.now, (report) => heartbeat(report)),
    // Heartbeats carry the progress: a worker that dies is noticed, and the retry resumes from the saved cursor.
    async backfillSegmentVersion(segment) {
      const result = await backfillSegment(db, await segments(), segment, { progress: (processed) => heartbeat(processed), signal: Context.current().cancellationSignal });
      // Stopped at its cancellation (its heartbeat lost, or the workflow cancelled): whoever goes on starts from the saved cursor.
      if (!result.finished) throw new CancelledFailure('segment backfill stopped at its cancellation');
      return result;
    },
  };
}
