/**
 * Starting, pausing, resuming, cancelling and reading one occurrence of a broadcast: for the CLI
 * and the console. An occurrence is one workflow (broadcastWorkflowId): starting it again while it
 * runs finds it, and once it has run it is not started a second time, so a repeated command sends
 * nobody anything twice.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { DateTime } from 'luxon';
import type { Config } from '../config.js';
import { latestOf, segmentKey } from '../segments/sdk/segment.js';
import { segmentVersions } from '../segments/definitions/index.js';
import { broadcastNamed } from './definitions/index.js';
import type { BroadcastDefinition } from './sdk/broadcast.js';
import { engineQueue } from '../workflows/sdk/definitions.js';
import {
  BROADCAST_WORKFLOW_TYPE,
  broadcastStatus,
  broadcastWorkflowId,
  cancelBroadcast,
  pauseBroadcast,
  resumeBroadcast,
  type BroadcastInput,
  type BroadcastStatus,
} from './sdk/run.js';

type ControlConfig = Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'DEFAULT_TIME_ZONE'>;

/**
 * The occurrence a start means: the one named, else the definition's `at` (its date), else today
 * (UTC): a second start the same day is the same occurrence unless it is named.
 */
export function occurrenceOf(broadcast: string | BroadcastDefinition, named?: string, now = Date.now()): string {
  if (named) return named;
  const { at } = typeof broadcast === 'string' ? broadcastNamed(broadcast) : broadcast;
  return (at ? DateTime.fromISO(at, { setZone: true }) : DateTime.fromMillis(now, { zone: 'utc' })).toISODate()!;
}

/** Starts an occurrence of one of the build's broadcasts (by id), or of a definition given (a one-off, a test). */
export async function startBroadcast(
  client: Client,
  config: ControlConfig,
  broadcast: string | BroadcastDefinition,
  named?: string,
): Promise<{ workflowId: string; started: true } | { workflowId: string; started: false; status: BroadcastStatus }> {
  const definition = typeof broadcast === 'string' ? broadcastNamed(broadcast) : broadcast;
  const { id } = definition;
  const occurrence = occurrenceOf(definition, named);
  // A local-time broadcast without a date sends on its occurrence's.
  const at = definition.at ?? (definition.atLocalTime && /^\d{4}-\d{2}-\d{2}$/.test(occurrence) ? occurrence : undefined);
  if (definition.atLocalTime && !at) throw new Error(`broadcast "${id}" sends at a local time: name its occurrence by a date (YYYY-MM-DD)`);
  const input: BroadcastInput = {
    definition,
    segmentKey: segmentKey(latestOf(segmentVersions, definition.segment)),
    occurrence,
    ...(at ? { at } : {}),
    defaultTimeZone: config.DEFAULT_TIME_ZONE,
  };
  const workflowId = broadcastWorkflowId(id, occurrence);
  const existing = await statusOf(client, workflowId);
  if (existing) return { workflowId, started: false, status: existing };
  try {
    // Two starts at once: the second finds the first's.
    await client.workflow.start(BROADCAST_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: engineQueue(config.TEMPORAL_TASK_QUEUE),
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    // It ran and ended between our look and our start.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return { workflowId, started: true };
}

/** An occurrence's status: asked while it runs, its result once it has ended; undefined if it never started. */
export async function statusOf(client: Client, workflowId: string): Promise<BroadcastStatus | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  const described = await handle.describe().catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  });
  if (!described) return undefined;
  if (described.status.name === 'RUNNING') return handle.query(broadcastStatus);
  if (described.status.name === 'COMPLETED') return (await handle.result()) as BroadcastStatus;
  throw new Error(`broadcast ${workflowId} ended ${described.status.name.toLowerCase()}; see it in the Temporal UI`);
}

export type BroadcastCommand = 'pause' | 'resume' | 'cancel';

const SIGNALS = { pause: pauseBroadcast, resume: resumeBroadcast, cancel: cancelBroadcast };

export async function signalBroadcast(client: Client, workflowId: string, command: BroadcastCommand): Promise<BroadcastStatus> {
  const status = await statusOf(client, workflowId);
  if (!status) throw new Error(`broadcast ${workflowId} has not been started`);
  if (['done', 'cancelled'].includes(status.state)) throw new Error(`broadcast ${workflowId} is ${status.state}: nothing to ${command}`);
  await client.workflow.getHandle(workflowId).signal(SIGNALS[command]);
  return (await statusOf(client, workflowId))!;
}
