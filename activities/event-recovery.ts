/**
 * Finishing what a writer left half done: accepted events whose claimer failed or died (see
 * store/inbound-events.ts), and segment membership changes never handed to their journeys (see
 * segments/change-dispatch.ts). Run by one schedule per deployment, so there is a single writer: a
 * copy of an event never does this.
 */
import { heartbeat, log as activityLog } from '@temporalio/activity';
import type { Config } from '../config.js';
import { broadcastConversions } from '../broadcasts/conversions.js';
import { broadcasts } from '../broadcasts/definitions/index.js';
import { createIngestion } from '../events/ingestion.js';
import type { Router } from '../events/router.js';
import { handOverPendingChanges } from '../segments/change-dispatch.js';
import type { SegmentEngine } from '../segments/engine.js';
import { findAbandonedClaims } from '../store/inbound-events.js';
import type { Database } from '../store/db.js';

export interface RecoveryResult {
  finished: number;
  failed: number;
  /** Membership changes handed to their journeys late, and those that could not be yet. */
  changes: { finished: number; failed: number };
}

export interface EventRecoveryActivities {
  /** Returns how many abandoned events were finished, and how many could not be yet. */
  finishAbandonedEvents(): Promise<RecoveryResult>;
}

export function createEventRecoveryActivities(db: Database, router: () => Promise<Router>, segments: () => Promise<SegmentEngine>, config: Config): EventRecoveryActivities {
  return {
    async finishAbandonedEvents() {
      const now = Date.now();
      const claims = await findAbandonedClaims(db.collections.inboundEvents, {
        since: new Date(now - config.INBOUND_RECOVERY_WINDOW),
        before: new Date(now - config.INBOUND_CLAIM_LEASE),
      });
      const routes = await router();
      const report = claims.length
        ? await createIngestion(db, routes, { phoneRegion: config.DEFAULT_PHONE_REGION, holdRules: config.HOLD_RULES, segments: await segments(), conversions: broadcastConversions(db, broadcasts) }).recover(claims, (tried) => heartbeat(tried))
        : { finished: 0, failed: [] };
      // After the events: a change their recovery takes is handed over at once, not counted here.
      const changes = await handOverPendingChanges(db, routes, new Date(now - config.INBOUND_CLAIM_LEASE), (tried) => heartbeat(claims.length + tried));
      // One that keeps failing (a dependency still down, an event no retry can act on) holds up no
      // other: it is named here and tried again next run, while it is inside the window.
      for (const failure of report.failed) activityLog.warn('abandoned event not finished yet', failure);
      for (const failure of changes.failed) activityLog.warn('segment change not handed to its journeys yet', failure);
      return { finished: report.finished, failed: report.failed.length, changes: { finished: changes.finished, failed: changes.failed.length } };
    },
  };
}
