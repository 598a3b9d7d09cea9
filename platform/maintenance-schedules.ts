/**
 * The deployment's schedules, created once (idempotently) by `setup` and the local stack: hourly
 * cleanup of expiring data, the audience sync, the recovery of abandoned inbound events, and the
 * rollup that reports read. One of
 * each per deployment (task queue); none overlaps itself, so each is the single writer of its work.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config.js';

export const cleanupScheduleId = (taskQueue: string) => `throughline-cleanup/${taskQueue}`;
const audienceSyncScheduleId = (taskQueue: string) => `throughline-audience-sync/${taskQueue}`;
const inboundRecoveryScheduleId = (taskQueue: string) => `throughline-inbound-recovery/${taskQueue}`;
export const rollupScheduleId = (taskQueue: string) => `throughline-rollup/${taskQueue}`;

async function ensureSchedule(client: Client, scheduleId: string, workflowType: string, taskQueue: string, everyMs: number): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: everyMs }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      action: { type: 'startWorkflow', workflowType, taskQueue, workflowId: scheduleId },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

export async function ensureSchedules(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'AUDIENCE_SYNC_INTERVAL' | 'INBOUND_RECOVERY_INTERVAL' | 'ROLLUP_INTERVAL'>,
): Promise<void> {
  const taskQueue = config.TEMPORAL_TASK_QUEUE;
  await ensureSchedule(client, cleanupScheduleId(taskQueue), 'cleanup', taskQueue, 3_600_000);
  await ensureSchedule(client, audienceSyncScheduleId(taskQueue), 'audienceSync', taskQueue, config.AUDIENCE_SYNC_INTERVAL);
  await ensureSchedule(client, inboundRecoveryScheduleId(taskQueue), 'inboundRecovery', taskQueue, config.INBOUND_RECOVERY_INTERVAL);
  await ensureSchedule(client, rollupScheduleId(taskQueue), 'rollup', taskQueue, config.ROLLUP_INTERVAL);
}
