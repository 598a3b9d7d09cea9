/**
 * The statistics of a split: conversion rates with 95% intervals, the lift of an arm over its control
 * with a two-sided p-value, and the sample-ratio check that tells a broken assignment from a result.
 * Distributions from @stdlib; the formulas are the textbook ones, named where used.
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

export interface Interval {
  low: number;
  high: number;
}

const Z_95 = normalQuantile(0.975, 0, 1);

/**
 * Below this many conversions (or non-conversions) in either arm the normal approximation behind the
 * interval of the difference and the p-value does not hold: the usual np ≥ 5 rule, per arm.
 */
export const MIN_OUTCOMES_PER_ARM = 5;

/** A share below this p-value under the configured percentages means assignment is broken (common practice). */
export const SAMPLE_RATIO_ALPHA = 0.001;

/** Wilson score interval: stays within 0..1 and holds at small counts, where the Wald interval does not. */
export function wilsonInterval(successes: number, trials: number): Interval {
  if (trials === 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = Z_95 * Z_95;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (Z_95 / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  // At 0 or all successes the bound is exactly 0 or 1; the formula gets there only up to rounding.
  return { low: successes === 0 ? 0 : Math.max(0, centre - half), high: successes === trials ? 1 : Math.min(1, centre + half) };
}

export interface Counts {
  conversions: number;
  entrants: number;
}

export interface Comparison {
  absoluteLift: number;
  /** Unpooled (Wald) interval of the difference in rates. */
  absoluteLiftInterval: Interval;
  /** Relative to the control's rate; undefined when the control converted no one. */
  relativeLift?: number;
  /** Two-proportion z-test, pooled, two-sided. */
  pValue: number;
}

export function enoughData(...arms: Counts[]): boolean {
  return arms.every((a) => a.conversions >= MIN_OUTCOMES_PER_ARM && a.entrants - a.conversions >= MIN_OUTCOMES_PER_ARM);
}

export function compareRates(arm: Counts, control: Counts): Comparison {
  const p1 = arm.conversions / arm.entrants;
  const p0 = control.conversions / control.entrants;
  const diff = p1 - p0;
  const se = Math.sqrt((p1 * (1 - p1)) / arm.entrants + (p0 * (1 - p0)) / control.entrants);
  const pooled = (arm.conversions + control.conversions) / (arm.entrants + control.entrants);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / arm.entrants + 1 / control.entrants));
  const z = pooledSe === 0 ? 0 : diff / pooledSe;
  return {
    absoluteLift: diff,
    absoluteLiftInterval: { low: diff - Z_95 * se, high: diff + Z_95 * se },
    ...(p0 > 0 ? { relativeLift: diff / p0 } : {}),
    pValue: 2 * (1 - normalCdf(Math.abs(z), 0, 1)),
  };
}

export interface SampleRatioCheck {
  chiSquare: number;
  pValue: number;
  mismatch: boolean;
}

/** Pearson's chi-square goodness of fit of the arms' entrants against the configured percentages. */
export function sampleRatioCheck(entrants: number[], percents: number[]): SampleRatioCheck {
  const total = entrants.reduce((a, b) => a + b, 0);
  const share = percents.reduce((a, b) => a + b, 0);
  let chiSquare = 0;
  entrants.forEach((observed, i) => {
    const expected = (total * percents[i]!) / share;
    if (expected > 0) chiSquare += (observed - expected) ** 2 / expected;
  });
  const pValue = total === 0 || entrants.length < 2 ? 1 : 1 - chisquareCdf(chiSquare, entrants.length - 1);
  return { chiSquare, pValue, mismatch: pValue < SAMPLE_RATIO_ALPHA };
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Money as a report shows it: summed shares of revenue (time-decay credit, cents across days) carry
 * binary floating-point dust (100.00000000000001) that no marketer's spreadsheet would show. */
export function cents(amount: number): number {
  return Math.round(amount * 100) / 100;
}

/** A share of conversions (fractional credit), to the four places any report needs. */
export function share(count: number): number {
  return Math.round(count * 10_000) / 10_000;
}
