import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EntryRecord, JourneyEvent, StepRecord } from './types.js';

/** Every event for a customer's running journey arrives through this one signal. */
export const eventSignal = defineSignal<[JourneyEvent]>('event');

/**
 * The person an instance follows turned out to be this known userId (an anonymous visitor signed in,
 * or an alias call): the instance carries on for them, so they never enter the journey twice.
 */
export const identifiedSignal = defineSignal<[string]>('identified');

export interface JourneyState {
  journeyId: string;
  version: number;
  currentStep: string | undefined;
  steps: StepRecord[];
  audiences: string[];
  /** Absent in answers of older builds. */
  entry?: EntryRecord;
}

export const stateQuery = defineQuery<JourneyState>('state');

/** The one workflow type that runs every journey (see sdk/interpreter.ts). */
export const JOURNEY_WORKFLOW_TYPE = 'journey';

/** One instance per journey and user (or per correlation key): the id is derived, never looked up. */
export function journeyWorkflowId(journeyId: string, userId: string, key?: string): string {
  return key === undefined ? `journey/${journeyId}/${userId}` : `journey/${journeyId}/${userId}/${key}`;
}

/**
 * The customer a journey instance's workflow id names (journeyWorkflowId read back); undefined for
 * any other workflow. `keyed` tells whether a journey's ids end in an instance key.
 */
export function customerOfWorkflow(workflowId: string, keyed: (journeyId: string) => boolean): string | undefined {
  const match = /^journey\/([^/]+)\/(.+)$/.exec(workflowId);
  if (!match) return undefined;
  const [, journeyId, rest] = match as unknown as [string, string, string];
  const cut = rest.lastIndexOf('/');
  return keyed(journeyId) && cut > 0 ? rest.slice(0, cut) : rest;
}

/**
 * Each channel's sends run on a task queue of their own, so a provider's send-rate limit (Temporal's
 * task-queue activity rate limit) holds across every worker process: SMS on a long code at 1/s does
 * not slow email down.
 */
export function sendQueue(taskQueue: string, channel: string): string {
  return `${deploymentQueue(taskQueue)}.send-${channel}`;
}

const ENGINE = '.engine';

/**
 * The engine's own workflows (broadcasts, their calendars, segment backfills and the maintenance
 * schedules) run on a task queue of their own, served by workers of their own: on the journeys'
 * queue, a broadcast's workflow tasks waited behind the first tasks of the journeys it had just
 * started (61.7 s in all against its activities' 25.3 s; docs/broadcasts.md), and so would the
 * segment clock's behind a burst of entries.
 */
export function engineQueue(taskQueue: string): string {
  return `${taskQueue}${ENGINE}`;
}

/** The deployment's queue (TEMPORAL_TASK_QUEUE) of a workflow running on `taskQueue`, its own or the engine's. */
export function deploymentQueue(taskQueue: string): string {
  return taskQueue.endsWith(ENGINE) ? taskQueue.slice(0, -ENGINE.length) : taskQueue;
}
