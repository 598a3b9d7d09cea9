/** The workflows the maintenance schedules run (see platform/maintenance-schedules.ts): cleanup, audience sync, event recovery, rollup. */
import { proxyActivities } from '@temporalio/workflow';
import type { AudienceSyncActivities, AudienceSyncReport } from '../activities/audience-sync.js';
import type { CleanupReport, MaintenanceActivities } from '../activities/maintenance-activities.js';
import type { RollupReport } from '../reports/rollup.js';
import type { EventRecoveryActivities, RecoveryResult } from '../activities/event-recovery.js';

const { cleanExpiredData, foldIntoRollups } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10s', maximumInterval: '5 minutes' },
});

export async function cleanup(): Promise<CleanupReport> {
  return cleanExpiredData();
}

export async function rollup(): Promise<RollupReport> {
  return foldIntoRollups();
}

const { syncAudiences } = proxyActivities<AudienceSyncActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes' },
});

export async function audienceSync(): Promise<AudienceSyncReport> {
  return syncAudiences();
}

const { finishAbandonedEvents } = proxyActivities<EventRecoveryActivities>({
  startToCloseTimeout: '10 minutes',
  // It heartbeats per event: a run whose worker died is retried this soon, not after 10 minutes in
  // which the schedule, never overlapping itself, would skip every run and abandoned events wait.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5s', maximumInterval: '1 minute' },
});

export async function inboundRecovery(): Promise<RecoveryResult> {
  return finishAbandonedEvents();
}
