/**
 * Reading rollup documents back: their field keys decoded, their counts summed over days and
 * versions, and steps named by what they send (from the journey definition of that version).
 */
import { broadcasts } from '../broadcasts/definitions/index.js';
import { entersJourney } from '../broadcasts/sdk/broadcast.js';
import { broadcastOfJourney } from '../broadcasts/sdk/run.js';
import { fieldName } from '../store/field-rules.js';
import type { GoalRollup, JourneyDayDoc } from '../store/rollups.js';
import { journeyVersion } from '../workflows/journeys/index.js';
import { allSteps } from '../workflows/sdk/steps.js';

export type Counts = Record<string, number>;

/** Adds `from` into `into`, decoding keys; nested maps of numbers are summed level by level. */
export function addCounts(into: Counts, from: Record<string, number> | undefined): Counts {
  for (const [key, n] of Object.entries(from ?? {})) into[fieldName(key)] = (into[fieldName(key)] ?? 0) + n;
  return into;
}

/** Step → outcome (or, from `engagement`, open and click counts; from `delivery`, providers' reports) → count, over all the documents. */
export function stepOutcomes(docs: readonly JourneyDayDoc[], field: 'outcomes' | 'engagement' | 'delivery' = 'outcomes'): Map<string, Counts> {
  const byStep = new Map<string, Counts>();
  for (const doc of docs) {
    for (const [step, outcomes] of Object.entries(doc[field] ?? {})) {
      const name = fieldName(step);
      byStep.set(name, addCounts(byStep.get(name) ?? {}, outcomes));
    }
  }
  return byStep;
}

/** Goal → its rollups, one per document that has it (with the document, for version lookups). */
export function goalRollups(docs: readonly JourneyDayDoc[], goal?: string): Array<{ doc: JourneyDayDoc; goal: string; rollup: GoalRollup }> {
  return docs.flatMap((doc) =>
    Object.entries(doc.goals ?? {})
      .map(([key, rollup]) => ({ doc, goal: fieldName(key), rollup }))
      .filter((g) => goal === undefined || g.goal === goal),
  );
}

export interface StepSubject {
  kind: string;
  channel?: string;
  /** The template, audience or endpoint. */
  subject?: string;
}

/** What a step of a version is: a send's channel and template, an audience, a webhook, or its kind. */
export function stepSubject(journeyId: string, version: number, stepId: string): StepSubject {
  if (stepId.startsWith('exit:leave:')) return { kind: 'audience', channel: 'audience', subject: stepId.slice('exit:leave:'.length) };
  // A message broadcast's occurrences are its steps, each sending what the broadcast sends.
  const broadcastId = broadcastOfJourney(journeyId);
  if (broadcastId !== undefined) {
    const send = broadcasts.find((b) => b.id === broadcastId)?.send;
    return send && !entersJourney(send) ? { kind: 'send', channel: send.channel, subject: send.template } : { kind: 'unknown' };
  }
  const definition = journeyVersion(journeyId, version);
  const step = definition ? [...allSteps(definition.steps)].find((s) => s.id === stepId) : undefined;
  if (!step) return { kind: 'unknown' };
  switch (step.kind) {
    case 'send':
      return { kind: 'send', channel: step.channel, subject: step.template };
    case 'audience':
      return { kind: 'audience', channel: 'audience', subject: step.audience };
    case 'webhook':
      return { kind: 'webhook', channel: 'webhook', subject: step.endpoint };
    default:
      return { kind: step.kind };
  }
}
