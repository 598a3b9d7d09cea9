/**
 * One occurrence of a broadcast, as its workflow, the activities and the CLI share it: the input,
 * the progress carried from run to run (continue-as-new), the signals that pause, resume and cancel
 * it, and the status it answers with. No Node imports (the workflow reads this file).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BroadcastDefinition } from './broadcast.js';

export interface BroadcastInput {
  definition: BroadcastDefinition;
  /** The segment version the audience comes from, fixed when the occurrence started. */
  segmentKey: string;
  /** The occurrence's name (a date, by default): a recipient gets each occurrence once. */
  occurrence: string;
  /** The definition's `at` or the occurrence's date (see BroadcastDefinition.at). */
  at?: string;
  defaultTimeZone: string;
  /** Carried over from the previous run of this occurrence. */
  progress?: BroadcastProgress;
}

/**
 * Recipients who get it at one moment: those of one time zone, or those a policy deferred (quiet
 * hours, a cap) to the same minute. Their ids are stored in pages (store/broadcast-audiences.ts).
 */
export interface AudienceGroup {
  /** The pages' group name: the zone, or `deferred@<ISO minute>`. */
  name: string;
  moment: number;
  pages: number;
  recipients: number;
  /** Which send of each recipient this is: 1, or more after deferrals (part of the idempotency key). */
  attempt: number;
  nextPage: number;
  /** Recipients decided (or moved on by a deferral). */
  done: number;
  /** A time zone's group, skipped whatever is left when it is more than an hour late. */
  local: boolean;
}

export interface BroadcastProgress {
  /** Absent until the audience is taken. */
  groups?: AudienceGroup[];
  /** Final outcomes by reason: 'sent', 'suppressed:unsubscribe', 'not-in-segment', 'skipped:late', 'cancelled'… */
  counts: Record<string, number>;
  paused: boolean;
  cancelled: boolean;
  /** When sending began (workflow time), for the rate. */
  sendingSince?: number;
  /** The throttle's current window (its number since the epoch) and the sends begun in it. */
  throttle: { window: number; begun: number };
}

export type BroadcastState = 'scheduled' | 'taking audience' | 'waiting' | 'sending' | 'paused' | 'cancelling' | 'cancelled' | 'done';

export interface BroadcastStatus {
  broadcast: string;
  occurrence: string;
  state: BroadcastState;
  recipients: number;
  /** Not decided yet (deferred ones included). */
  pending: number;
  counts: Record<string, number>;
  /** Decisions per minute since sending began. */
  perMinute?: number;
  /** When the pending ones should be done at that rate (not before their groups' moments). */
  eta?: string;
  /** While waiting, the next moment a group is due; while scheduled, when sending begins. */
  nextAt?: string;
  groups: { name: string; at: string; recipients: number; done: number }[];
}

export const pauseBroadcast = defineSignal('pauseBroadcast');
export const resumeBroadcast = defineSignal('resumeBroadcast');
/** Stops after the sends in flight; whoever is left is counted as cancelled. */
export const cancelBroadcast = defineSignal('cancelBroadcast');
export const broadcastStatus = defineQuery<BroadcastStatus>('broadcastStatus');

export const BROADCAST_WORKFLOW_TYPE = 'broadcast';

/** A recurring broadcast's calendar (workflows/broadcast-recurrence.ts): `after`, the last occurrence it started. */
export interface RecurrenceInput {
  broadcast: string;
  after?: string;
}
export const BROADCAST_RECURRENCE_WORKFLOW_TYPE = 'broadcastRecurrence';
/** A deployment has started: plan again from its definition. */
export const replanRecurrence = defineSignal('replanRecurrence');
export const broadcastRecurrenceId = (taskQueue: string, broadcastId: string) => `throughline-broadcast-recurrence/${taskQueue}/${broadcastId}`;

/** One workflow per (broadcast, occurrence): starting it again finds the one already under way. */
export const broadcastWorkflowId = (broadcastId: string, occurrence: string) => `broadcast/${broadcastId}/${occurrence}`;

/**
 * Where a message broadcast's sends stand in the ledger, explain and the reports: as a journey named
 * for the broadcast, one step per occurrence, at one version (a broadcast has no versions).
 */
const BROADCAST_JOURNEY_PREFIX = 'broadcast:';
export const broadcastJourneyId = (broadcastId: string) => `${BROADCAST_JOURNEY_PREFIX}${broadcastId}`;
export const BROADCAST_JOURNEY_VERSION = 1;
/** The broadcast a journey id of the ledger or the reports names; undefined for a journey's. */
export const broadcastOfJourney = (journeyId: string): string | undefined =>
  journeyId.startsWith(BROADCAST_JOURNEY_PREFIX) ? journeyId.slice(BROADCAST_JOURNEY_PREFIX.length) : undefined;

/** The ledger's idempotency key of a recipient's send: the same on every retry, run and repeat of the command. */
export const recipientSendKey = (workflowId: string, userId: string, attempt: number) => `${workflowId}/${userId}#${attempt}`;

const decided = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** `startsAt`: while scheduled, when the audience will be taken and sending begin. */
export function statusOf(input: BroadcastInput, progress: BroadcastProgress, now: number, phase: BroadcastState, startsAt?: number): BroadcastStatus {
  const groups = progress.groups ?? [];
  // Deferred recipients are in two groups (the one they left and the one they wait in): count them once.
  const recipients = groups.filter((g) => g.attempt === 1).reduce((n, g) => n + g.recipients, 0);
  const pending = recipients - decided(progress.counts);
  const elapsedMin = progress.sendingSince !== undefined ? (now - progress.sendingSince) / 60_000 : 0;
  const perMinute = elapsedMin > 0 ? Math.round(decided(progress.counts) / elapsedMin) : undefined;
  const open = groups.filter((g) => g.done < g.recipients).sort((a, b) => a.moment - b.moment);
  const lastMoment = open.at(-1)?.moment ?? now;
  const etaMs = perMinute && pending ? Math.max(now + (pending / perMinute) * 60_000, lastMoment) : undefined;
  // Cancelled once the sends in flight have finished and the workflow has ended.
  const state: BroadcastState = progress.cancelled ? (phase === 'done' ? 'cancelled' : 'cancelling') : progress.paused && phase !== 'done' ? 'paused' : phase;
  return {
    broadcast: input.definition.id,
    occurrence: input.occurrence,
    state,
    recipients,
    pending,
    counts: progress.counts,
    ...(perMinute !== undefined ? { perMinute } : {}),
    ...(etaMs !== undefined ? { eta: new Date(etaMs).toISOString() } : {}),
    ...(phase === 'waiting' && open[0] ? { nextAt: new Date(open[0].moment).toISOString() } : {}),
    ...(phase === 'scheduled' && startsAt !== undefined ? { nextAt: new Date(startsAt).toISOString() } : {}),
    groups: groups.map((g) => ({ name: g.name, at: new Date(g.moment).toISOString(), recipients: g.recipients, done: g.done })),
  };
}
