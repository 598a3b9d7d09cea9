/**
 * Finishing accepted events that their claimer left half done (see store/inbound-events.ts). Run by
 * one schedule per deployment, so there is a single writer: a copy of an event never does this.
 */
import { heartbeat, log as activityLog } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { createIngestion } from '../events/ingestion.js';
import { createRouter } from '../events/router.js';
import { deploymentSegments } from '../segments/deployment.js';
import { findAbandonedClaims } from '../store/inbound-events.js';
import type { Database } from '../store/db.js';
import { journeyVersions } from '../workflows/journeys/index.js';

export interface EventRecoveryActivities {
  /** Returns how many abandoned events were finished, and how many could not be yet. */
  finishAbandonedEvents(): Promise<{ finished: number; failed: number }>;
}

export function createEventRecoveryActivities(db: Database, temporal: () => Promise<Client>, config: Config): EventRecoveryActivities {
  return {
    async finishAbandonedEvents() {
      const now = Date.now();
      const claims = await findAbandonedClaims(db.collections.inboundEvents, {
        since: new Date(now - config.INBOUND_RECOVERY_WINDOW),
        before: new Date(now - config.INBOUND_CLAIM_LEASE),
      });
      if (!claims.length) return { finished: 0, failed: 0 };
      const router = createRouter({ client: await temporal(), db, taskQueue: config.TEMPORAL_TASK_QUEUE, journeys: journeyVersions, settings: config.JOURNEY_SETTINGS, experiments: config.JOURNEY_EXPERIMENTS });
      const report = await createIngestion(db, router, { phoneRegion: config.DEFAULT_PHONE_REGION, holdRules: config.HOLD_RULES, segments: deploymentSegments(db, config) }).recover(claims, (tried) => heartbeat(tried));
      // One that keeps failing (a dependency still down, an event no retry can act on) holds up no
      // other: it is named here and tried again next run, while it is inside the window.
      for (const failure of report.failed) activityLog.warn('abandoned event not finished yet', failure);
      return { finished: report.finished, failed: report.failed.length };
    },
  };
}
