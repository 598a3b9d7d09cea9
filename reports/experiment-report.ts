/**
 * Every split of a journey version as an experiment: per arm, entrants and converters to a goal with
 * the rate's 95% interval; against the control arm (the holdout, an arm with no steps, unless one is
 * named), the absolute and relative lift with the difference's interval and a p-value; a guard that
 * says "not enough data" rather than a number; and the sample-ratio check of assignment.
 */
import type { Database } from '../store/db.js';
import { fieldKey } from '../store/field-rules.js';
import { journeyDays } from '../store/rollups.js';
import { journeyVersion } from '../workflows/journeys/index.js';
import { allSteps, type StepOf } from '../workflows/sdk/steps.js';
import type { Period } from './journey-report.js';
import { goalRollups, stepOutcomes } from './rollup-reading.js';
import { compareRates, enoughData, sampleRatioCheck, wilsonInterval, type Comparison, type Interval, type SampleRatioCheck } from './statistics.js';

export interface ArmResult {
  arm: string;
  percent: number;
  entrants: number;
  converters: number;
  rate?: number;
  interval: Interval;
  control: boolean;
  /** Against the control; absent for the control itself and when there is not enough data. */
  comparison?: Comparison;
  notEnoughData?: boolean;
}

export interface SplitResult {
  stepId: string;
  goal: string;
  control: string;
  arms: ArmResult[];
  sampleRatio: SampleRatioCheck;
}

export interface ExperimentReport {
  journeyId: string;
  version: number;
  period: Period;
  splits: SplitResult[];
}

export class ReportError extends Error {}

export async function experimentReport(
  db: Database,
  journeyId: string,
  options: Period & { version?: number; goal?: string; control?: string } = {},
): Promise<ExperimentReport> {
  const all = await journeyDays(db.collections.rollups, { journeyId, from: options.from, to: options.to });
  const version = options.version ?? Math.max(0, ...all.map((d) => d.version));
  const definition = journeyVersion(journeyId, version);
  if (!definition) throw new ReportError(`journey "${journeyId}" v${version} is not in this build`);
  const goal = options.goal ?? definition.goals[0]?.id;
  if (!goal) throw new ReportError(`journey "${journeyId}" v${version} has no goal to measure`);
  const docs = all.filter((d) => d.version === version);
  const outcomes = stepOutcomes(docs);
  const converters = new Map<string, number>();
  for (const { rollup } of goalRollups(docs, goal)) {
    for (const [split, arms] of Object.entries(rollup.arms ?? {})) {
      for (const [arm, n] of Object.entries(arms)) converters.set(`${split}.${arm}`, (converters.get(`${split}.${arm}`) ?? 0) + n);
    }
  }
  const splits = [...allSteps(definition.steps)].filter((s): s is StepOf<'split'> => s.kind === 'split');
  return {
    journeyId,
    version,
    period: { from: options.from, to: options.to },
    splits: splits.map((split) => {
      const control = options.control ?? split.variants.find((v) => v.steps.length === 0)?.name ?? split.variants[0]!.name;
      if (!split.variants.some((v) => v.name === control)) throw new ReportError(`split "${split.id}" has no arm "${control}"`);
      const counts = split.variants.map((v) => ({
        arm: v.name,
        percent: v.percent,
        entrants: outcomes.get(split.id)?.[`variant:${v.name}`] ?? 0,
        conversions: converters.get(`${fieldKey(split.id)}.${fieldKey(v.name)}`) ?? 0,
      }));
      const controlCounts = counts.find((c) => c.arm === control)!;
      const arms = counts.map((c): ArmResult => {
        const isControl = c.arm === control;
        const enough = enoughData(c, controlCounts);
        return {
          arm: c.arm,
          percent: c.percent,
          entrants: c.entrants,
          converters: c.conversions,
          ...(c.entrants > 0 ? { rate: c.conversions / c.entrants } : {}),
          interval: wilsonInterval(c.conversions, c.entrants),
          control: isControl,
          ...(isControl ? {} : enough ? { comparison: compareRates(c, controlCounts) } : { notEnoughData: true }),
        };
      });
      return {
        stepId: split.id,
        goal,
        control,
        arms,
        sampleRatio: sampleRatioCheck(
          counts.map((c) => c.entrants),
          counts.map((c) => c.percent),
        ),
      };
    }),
  };
}
