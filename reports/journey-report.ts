/**
 * A journey's funnel over a period, from the rollups: entered, each step reached and its outcomes
 * (the policy's among them: suppressed, capped, deferred, no consent; `exited-here` for those who left
 * while in it), what providers reported after sending, conversions per goal with the
 * median time to convert, exits by reason, completion rate.
 */
import type { Database } from '../store/db.js';
import { journeyDays } from '../store/rollups.js';
import { journeyVersion } from '../workflows/journeys/index.js';
import { allSteps } from '../workflows/sdk/steps.js';
import { goalRollups, stepOutcomes, stepSubject, type Counts, type StepSubject } from './rollup-reading.js';
import { cents, median } from './statistics.js';

export interface Period {
  /** First and last UTC day, YYYY-MM-DD, inclusive. */
  from?: string;
  to?: string;
}

export interface StepFunnel extends StepSubject {
  stepId: string;
  /**
   * Instances that reached the step: a deferred send counts once, by its final decision, and an
   * instance that exited while in the step counts too (its outcome `exited-here`).
   */
  reached: number;
  outcomes: Counts;
  /** For sends: opened, clicked (sends with a human one), opens, clicks, machine-opens, machine-clicks. */
  engagement?: Counts;
  /** For sends, what providers reported after sending: delivered, failed (undelivered, bounced). */
  delivery?: Counts;
}

export interface GoalSummary {
  goal: string;
  conversions: number;
  converters: number;
  /** Converters per entrant. */
  conversionRate?: number;
  revenue: number;
  medianSecondsToConvert?: number;
}

export interface JourneyReport {
  journeyId: string;
  versions: number[];
  period: Period;
  entered: number;
  completed: number;
  exited: Counts;
  completionRate?: number;
  steps: StepFunnel[];
  goals: GoalSummary[];
}

/** Records the funnel does not list as steps: the instance's entry and end, exits and goals. */
const isLifecycle = (stepId: string) => ['entry', 'end', 'exit'].includes(stepId) || stepId.startsWith('goal:');

export async function journeyReport(db: Database, journeyId: string, options: Period & { version?: number } = {}): Promise<JourneyReport> {
  const docs = await journeyDays(db.collections.rollups, { journeyId, ...options });
  const versions = [...new Set(docs.map((d) => d.version))].sort((a, b) => a - b);
  const outcomes = stepOutcomes(docs);
  const engagement = stepOutcomes(docs, 'engagement');
  const delivery = stepOutcomes(docs, 'delivery');
  const entered = outcomes.get('entry')?.entered ?? 0;
  const completed = outcomes.get('end')?.completed ?? 0;
  const exited = Object.fromEntries(Object.entries(outcomes.get('exit') ?? {}).map(([reason, n]) => [reason.replace(/^exited:/, ''), n]));

  // Steps in the order the definitions give them, then any the definitions lack (audiences left on exit).
  const order = versions.flatMap((v) => [...allSteps(journeyVersion(journeyId, v)?.steps ?? [])].map((s) => s.id));
  const stepIds = [...new Set([...order, ...[...outcomes.keys()].filter((id) => !isLifecycle(id))])].filter((id) => outcomes.has(id));
  const latest = versions[versions.length - 1] ?? 1;
  const steps = stepIds.map((stepId) => {
    const counts = outcomes.get(stepId)!;
    const deferred = Object.entries(counts).filter(([o]) => o.startsWith('deferred:')).reduce((sum, [, n]) => sum + n, 0);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const engaged = engagement.get(stepId);
    const reported = delivery.get(stepId);
    return {
      stepId,
      ...stepSubject(journeyId, latest, stepId),
      reached: total - deferred,
      outcomes: counts,
      ...(engaged ? { engagement: engaged } : {}),
      ...(reported ? { delivery: reported } : {}),
    };
  });

  const byGoal = new Map<string, GoalSummary & { seconds: number[] }>();
  for (const { goal, rollup } of goalRollups(docs)) {
    const summary = byGoal.get(goal) ?? { goal, conversions: 0, converters: 0, revenue: 0, seconds: [] };
    summary.conversions += rollup.conversions ?? 0;
    summary.converters += rollup.converters ?? 0;
    summary.revenue += rollup.revenue ?? 0;
    summary.seconds.push(...(rollup.secondsToConvert ?? []));
    byGoal.set(goal, summary);
  }
  const goals = [...byGoal.values()].map(({ seconds, ...g }) => ({
    ...g,
    revenue: cents(g.revenue),
    ...(entered > 0 ? { conversionRate: g.converters / entered } : {}),
    ...(seconds.length ? { medianSecondsToConvert: median(seconds) } : {}),
  }));
  return {
    journeyId,
    versions,
    period: { from: options.from, to: options.to },
    entered,
    completed,
    exited,
    ...(entered > 0 ? { completionRate: completed / entered } : {}),
    steps,
    goals,
  };
}
