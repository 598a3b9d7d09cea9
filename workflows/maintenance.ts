/** The cleanup the `throughline-cleanup` schedule runs (see client/maintenance.ts). */
import { proxyActivities } from '@temporalio/workflow';
import type { CleanupReport, MaintenanceActivities } from '../activities/maintenance-activities.js';

const { cleanExpiredData } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10s', maximumInterval: '5 minutes' },
});

export async function cleanup(): Promise<CleanupReport> {
  return cleanExpiredData();
}
