/** The schedule that cleans expiring data; created once (idempotently) by `setup` and the local stack. */
import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';

/** One schedule per deployment (task queue); its workers clean their own database. */
export const cleanupScheduleId = (taskQueue: string) => `throughline-cleanup/${taskQueue}`;

export async function ensureCleanupSchedule(client: Client, taskQueue: string): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: cleanupScheduleId(taskQueue),
      spec: { intervals: [{ every: '1 hour' }] },
      action: { type: 'startWorkflow', workflowType: 'cleanup', taskQueue, workflowId: cleanupScheduleId(taskQueue) },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}
