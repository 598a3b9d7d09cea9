/**
 * A customer's timeline: every journey run (found by the ThroughlineUserId search attribute), each
 * step it took and, for sends, the delivery decision and its reason from the ledger. Answers "why
 * did (or didn't) user X get message Y" in one call.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { ConsentEventDoc } from '../store/consent.js';
import type { Database } from '../store/db.js';
import type { SuppressionDoc } from '../store/suppressions.js';
import { ledgerForUser, type LedgerDoc } from '../store/ledger.js';
import { ErasedPayloadError } from '../platform/payload-codec.js';
import { stateQuery } from '../workflows/sdk/definitions.js';
import type { EntryRecord, JourneyResult, StepRecord } from '../workflows/sdk/types.js';
import { describeEvent, segmentOfEvent } from '../workflows/sdk/segment-events.js';
import { JOURNEY, USER_ID } from '../workflows/sdk/search-attributes.js';

export interface JourneyRunTimeline {
  journey: string;
  workflowId: string;
  runId: string;
  status: string;
  startedAt: Date;
  closedAt?: Date;
  exitEvent?: string;
  currentStep?: string;
  /** What it entered on (unknown for runs of older builds). */
  entry?: EntryRecord;
  steps: Array<StepRecord & { ledger?: LedgerDoc }>;
}

async function stepsOf(client: Client, run: WorkflowExecutionInfo): Promise<Pick<JourneyRunTimeline, 'steps' | 'exitEvent' | 'currentStep' | 'entry'>> {
  const handle = client.workflow.getHandle(run.workflowId, run.runId);
  if (run.status.name === 'COMPLETED') {
    try {
      const result = (await handle.result()) as JourneyResult;
      return { steps: result.steps, exitEvent: result.exitEvent, entry: result.entry };
    } catch (err) {
      // Its customer was erased: what the run did is sealed with a key that no longer exists.
      if (err instanceof ErasedPayloadError || (err as Error).cause instanceof ErasedPayloadError) return { steps: [] };
      throw err;
    }
  }
  if (run.status.name === 'RUNNING') {
    const state = await handle.query(stateQuery);
    return { steps: state.steps, currentStep: state.currentStep, entry: state.entry };
  }
  return { steps: [] };
}

export async function userTimeline(client: Client, db: Database, userId: string): Promise<JourneyRunTimeline[]> {
  const ledger = await ledgerForUser(db.collections.ledger, userId);
  const runs: JourneyRunTimeline[] = [];
  const escaped = userId.replaceAll('"', '\\"');
  for await (const run of client.workflow.list({ query: `${USER_ID.name} = "${escaped}"` })) {
    const { steps, exitEvent, currentStep, entry } = await stepsOf(client, run);
    runs.push({
      journey: run.typedSearchAttributes.get(JOURNEY) ?? run.type,
      workflowId: run.workflowId,
      runId: run.runId,
      status: run.status.name,
      startedAt: run.startTime,
      closedAt: run.closeTime,
      exitEvent,
      currentStep,
      entry,
      steps: steps.map((step) => ({
        ...step,
        ledger: ledger.find((e) => e.workflowId === run.workflowId && e._id.includes(`/${run.runId}/${step.stepId}#`)),
      })),
    });
  }
  return runs.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
}

const clock = (date: Date | string) => new Date(date).toISOString().slice(11, 19);

/** `"Checkout Started"`, or for a segment change `joining segment lapsed (change lapsed@1|u-1|1)`. */
export const enteredOn = (entry: EntryRecord) => `${describeEvent(entry.event)}${segmentOfEvent(entry.event) ? ` (change ${entry.messageId})` : ''}`;

/** Plain text for a terminal: one block per journey run, one line per step. */
export function formatTimeline(userId: string, runs: JourneyRunTimeline[]): string {
  const lines = [`${userId}`];
  if (runs.length === 0) lines.push('  no journeys');
  for (const run of runs) {
    const end = run.closedAt
      ? run.exitEvent
        ? `left at ${clock(run.closedAt)} on "${run.exitEvent}"`
        : `${run.status.toLowerCase()} at ${clock(run.closedAt)}`
      : `in step ${run.currentStep ?? '(starting)'}`;
    lines.push(`  ${run.journey}: entered ${clock(run.startedAt)}${run.entry ? ` on ${enteredOn(run.entry)}` : ''}, ${end}`);
    for (const step of run.steps) {
      const what = step.ledger ? `${step.ledger.channel} ${step.ledger.subject}` : '';
      const resolution = step.ledger?.resolution;
      const settled = resolution ? `; settled by ${resolution.by} at ${clock(resolution.at)}: ${resolution.as === 'sent' ? 'sent' : `resent as ${resolution.resendKey}`}` : '';
      const detail = step.ledger?.detail || settled ? ` (${step.ledger?.detail ?? ''}${settled})` : '';
      lines.push(`    ${clock(step.at)}  ${step.stepId.padEnd(34)} ${what.padEnd(34)} ${step.outcome}${detail}`);
    }
  }
  return lines.join('\n');
}

/** "email", or "email/promotions" for one marketing category. */
export const scopeLabel = (channel: string, category: string | undefined) => (category ? `${channel}/${category}` : channel);

/** The policy state behind the decisions: suppressions (with their liftings) and consent changes. */
export function formatPolicyState(suppressions: SuppressionDoc[], consent: ConsentEventDoc[]): string {
  const when = (date: Date) => date.toISOString().replace('T', ' ').slice(0, 19);
  const erased = suppressions.find((s) => s.reason === 'erasure' && !s.liftedAt);
  const lines = erased
    ? [`  erased ${when(erased.createdAt)} (${erased.source}): journeys ended, data key destroyed, profile and records deleted`, '  suppressions:']
    : ['  suppressions:'];
  if (suppressions.length === 0) lines.push('    none');
  for (const s of suppressions) {
    const state = s.liftedAt ? `lifted ${when(s.liftedAt)} (${s.liftSource})` : s.expiresAt ? `until ${when(s.expiresAt)}` : 'active';
    lines.push(`    ${when(s.createdAt)}  ${scopeLabel(s.channel, s.category).padEnd(20)} ${s.reason.padEnd(12)} ${state}; source ${s.source}${s.evidence ? `, ${s.evidence}` : ''}`);
  }
  lines.push('  consent:');
  if (consent.length === 0) lines.push('    no changes recorded');
  for (const c of consent) lines.push(`    ${when(c.at)}  ${scopeLabel(c.channel, c.category).padEnd(20)} ${c.granted ? 'granted' : 'withdrawn'}; source ${c.source}${c.evidence ? `, ${c.evidence}` : ''}`);
  return lines.join('\n');
}
