/**
 * The deployment's schedules, created once (idempotently) by `setup` and the local stack: hourly
 * cleanup of expiring data, the audience sync, the recovery of abandoned inbound events, the
 * rollup that reports read, and the segment clock; each segment version's backfill, once; and each
 * recurring broadcast's calendar, woken to plan again from this build. One of each per deployment
 * (task queue); none overlaps itself, so each is the single writer of its work. They run on the
 * engine's queue (engineQueue), not behind the journeys' tasks.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { segmentVersions } from '../segments/definitions/index.js';
import { segmentKey } from '../segments/sdk/segment.js';
import type { Config } from '../config.js';
import { broadcasts } from '../broadcasts/definitions/index.js';
import { BROADCAST_RECURRENCE_WORKFLOW_TYPE, broadcastRecurrenceId, replanRecurrence, type RecurrenceInput } from '../broadcasts/sdk/run.js';
import { engineQueue } from '../workflows/sdk/definitions.js';

export const cleanupScheduleId = (taskQueue: string) => `throughline-cleanup/${taskQueue}`;
const audienceSyncScheduleId = (taskQueue: string) => `throughline-audience-sync/${taskQueue}`;
const inboundRecoveryScheduleId = (taskQueue: string) => `throughline-inbound-recovery/${taskQueue}`;
export const rollupScheduleId = (taskQueue: string) => `throughline-rollup/${taskQueue}`;
export const segmentClockScheduleId = (taskQueue: string) => `throughline-segment-clock/${taskQueue}`;
export const segmentBackfillId = (taskQueue: string, segment: string) => `throughline-segment-backfill/${taskQueue}/${segment}`;

const scheduleIds = (taskQueue: string) =>
  [cleanupScheduleId, audienceSyncScheduleId, inboundRecoveryScheduleId, rollupScheduleId, segmentClockScheduleId].map((id) => id(taskQueue));

/**
 * Removes a task queue's schedules, for a system that goes away with its queue (a test's): a
 * schedule left behind wakes the Temporal server at every interval for as long as it runs.
 */
export async function removeSchedules(client: Client, taskQueue: string): Promise<void> {
  await Promise.all([
    ...scheduleIds(taskQueue).map((id) => client.schedule.getHandle(id).delete().catch(() => undefined)),
    ...recurring().map((b) => client.workflow.getHandle(broadcastRecurrenceId(taskQueue, b.id)).terminate('its task queue went away').catch(() => undefined)),
  ]);
}

const recurring = () => broadcasts.filter((b) => b.recurring);

/** Creates the schedule, or brings one created by an earlier build to this one's interval and queue. */
async function ensureSchedule(client: Client, scheduleId: string, workflowType: string, taskQueue: string, everyMs: number): Promise<void> {
  const spec = { intervals: [{ every: everyMs }] };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      action: { type: 'startWorkflow', workflowType, taskQueue, workflowId: scheduleId },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    // Changed only when the configuration changed: an update is a write, and setup runs at every start.
    const handle = client.schedule.getHandle(scheduleId);
    const { spec: now, action } = await handle.describe();
    const sameQueue = action.type === 'startWorkflow' && action.taskQueue === taskQueue;
    // Temporal keeps an interval in whole seconds.
    const sameInterval = now.intervals?.length === 1 && now.intervals[0]!.every === Math.round(everyMs / 1000) * 1000;
    if (sameQueue && sameInterval) return;
    await handle.update((current) => ({ ...current, spec, action: { ...current.action, taskQueue } }));
  }
}

export async function ensureSchedules(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'AUDIENCE_SYNC_INTERVAL' | 'INBOUND_RECOVERY_INTERVAL' | 'ROLLUP_INTERVAL' | 'SEGMENT_CLOCK_INTERVAL'>,
  segments: readonly string[] = segmentVersions.map(segmentKey),
): Promise<void> {
  // Ids name the deployment's queue; the workflows run on its engine queue.
  const taskQueue = config.TEMPORAL_TASK_QUEUE;
  const engine = engineQueue(taskQueue);
  await ensureSchedule(client, cleanupScheduleId(taskQueue), 'cleanup', engine, 3_600_000);
  await ensureSchedule(client, audienceSyncScheduleId(taskQueue), 'audienceSync', engine, config.AUDIENCE_SYNC_INTERVAL);
  await ensureSchedule(client, inboundRecoveryScheduleId(taskQueue), 'inboundRecovery', engine, config.INBOUND_RECOVERY_INTERVAL);
  await ensureSchedule(client, rollupScheduleId(taskQueue), 'rollup', engine, config.ROLLUP_INTERVAL);
  await ensureSchedule(client, segmentClockScheduleId(taskQueue), 'segmentClock', engine, config.SEGMENT_CLOCK_INTERVAL);
  // Each recurring broadcast's calendar: started, or (running) told to plan again from this build.
  for (const b of recurring()) {
    await client.workflow.signalWithStart(BROADCAST_RECURRENCE_WORKFLOW_TYPE, {
      workflowId: broadcastRecurrenceId(taskQueue, b.id),
      taskQueue: engine,
      args: [{ broadcast: b.id } satisfies RecurrenceInput],
      signal: replanRecurrence,
    });
  }
  // Each segment version is backfilled once: a second start finds its workflow (running or done) and does nothing.
  for (const segment of segments) {
    try {
      await startSegmentBackfill(client, taskQueue, segment);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}

/** Starts a segment version's backfill, unless one ran or runs (a failed one may start again). */
export function startSegmentBackfill(client: Client, taskQueue: string, segment: string) {
  return client.workflow.start('segmentBackfill', {
    workflowId: segmentBackfillId(taskQueue, segment),
    taskQueue: engineQueue(taskQueue),
    args: [segment],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  });
}
