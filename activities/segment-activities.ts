/** The segment clock's and the backfills' activities (segments/clock.ts, segments/backfill.ts). */
import { Context, heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { Config } from '../config.js';
import type { Database } from '../store/db.js';
import { deploymentRouter } from '../events/router.js';
import { backfillSegment } from '../segments/backfill.js';
import { applyDueChanges, type ClockReport } from '../segments/clock.js';
import { deploymentSegments } from '../segments/deployment.js';
import type { SegmentEngine } from '../segments/engine.js';

export interface SegmentActivities {
  applyDueSegmentChanges(): Promise<ClockReport>;
  backfillSegmentVersion(segment: string): Promise<{ processed: number; total: number }>;
}

type SegmentConfig = Pick<Config, 'SEGMENT_EVENT_RETENTION' | 'TEMPORAL_TASK_QUEUE' | 'JOURNEY_SETTINGS' | 'JOURNEY_EXPERIMENTS'>;

export function createSegmentActivities(db: Database, temporal: () => Promise<Client>, config: SegmentConfig): SegmentActivities {
  // The changes time makes start and end journeys: the engine hands them to the router (a client, connected on first use).
  let engine: Promise<SegmentEngine> | undefined;
  const segments = () => (engine ??= temporal().then((client) => deploymentSegments(db, config, undefined, deploymentRouter(client, db, config))));
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
