/**
 * The statistics and attribution models behind the reports, against values worked out by hand from
 * their textbook formulas (Wilson 1927; the pooled two-proportion z-test; Pearson's chi-square, whose
 * survival function for two degrees of freedom is exactly e^(-x/2)).
 */
import { describe, expect, it } from 'vitest';
import { creditWeights, revenueOf } from '../reports/attribution.js';
import { compareRates, enoughData, median, sampleRatioCheck, wilsonInterval } from '../reports/statistics.js';

describe('statistics', () => {
  it('gives the Wilson score interval, inside 0..1 at the edges', () => {
    expect(wilsonInterval(50, 100).low).toBeCloseTo(0.403832, 5);
    expect(wilsonInterval(50, 100).high).toBeCloseTo(0.596168, 5);
    expect(wilsonInterval(12, 40).low).toBeCloseTo(0.180748, 5);
    expect(wilsonInterval(12, 40).high).toBeCloseTo(0.4543, 4);
    expect(wilsonInterval(0, 10)).toEqual({ low: 0, high: expect.closeTo(0.277533, 5) });
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });

  it('compares two rates: lift, its interval and the two-sided p-value', () => {
    const result = compareRates({ conversions: 120, entrants: 1000 }, { conversions: 100, entrants: 1000 });
    expect(result.absoluteLift).toBeCloseTo(0.02, 10);
    expect(result.relativeLift).toBeCloseTo(0.2, 10);
    // z = 0.02 / sqrt(0.11 · 0.89 · 2/1000) = 1.4293, two-sided p = erfc(z/√2).
    expect(result.pValue).toBeCloseTo(0.152918, 5);
    expect(result.absoluteLiftInterval.low).toBeCloseTo(-0.0074115, 6);
    expect(result.absoluteLiftInterval.high).toBeCloseTo(0.0474115, 6);
    expect(compareRates({ conversions: 5, entrants: 50 }, { conversions: 0, entrants: 50 }).relativeLift).toBeUndefined();
  });

  it('says when there is not enough data for the normal approximation', () => {
    expect(enoughData({ conversions: 5, entrants: 10 }, { conversions: 5, entrants: 10 })).toBe(true);
    expect(enoughData({ conversions: 4, entrants: 1000 }, { conversions: 50, entrants: 1000 })).toBe(false);
    expect(enoughData({ conversions: 96, entrants: 100 }, { conversions: 50, entrants: 100 })).toBe(false);
  });

  it('flags a sample ratio mismatch only when assignment is implausible', () => {
    // 4,850 / 5,150 at 50/50: chi-square 9, p = erfc(3/√2) = 0.0027: unusual, but not below 0.001.
    expect(sampleRatioCheck([4850, 5150], [50, 50])).toEqual({ chiSquare: expect.closeTo(9, 10), pValue: expect.closeTo(0.0026998, 6), mismatch: false });
    // 4,800 / 5,200: chi-square 16, p = 6.33e-5.
    const broken = sampleRatioCheck([4800, 5200], [50, 50]);
    expect(broken.mismatch).toBe(true);
    expect(broken.pValue).toBeCloseTo(6.3342e-5, 8);
    // Three arms, 45/45/10 of 1,000 seen as 480/440/80: chi-square 56/9, p = e^(-28/9).
    const three = sampleRatioCheck([480, 440, 80], [45, 45, 10]);
    expect(three.chiSquare).toBeCloseTo(6.222222, 5);
    expect(three.pValue).toBeCloseTo(Math.exp(-6.222222 / 2), 5);
    expect(sampleRatioCheck([0, 0], [50, 50]).mismatch).toBe(false);
  });

  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});

describe('attribution models', () => {
  const HOUR = 3_600_000;
  // Email an hour in, SMS and the retargeting audience a day later, the order at 30 hours.
  const touches = [
    { stepId: 'email', at: 1 * HOUR },
    { stepId: 'sms', at: 25 * HOUR },
    { stepId: 'audience', at: 25 * HOUR },
  ];
  const credit = (model: Parameters<typeof creditWeights>[0], list = touches) => creditWeights(model, list, 30 * HOUR, 7 * 24 * HOUR);

  it('credits the last, the first, all equally, or 40/20/40', () => {
    expect(credit('last-touch')).toEqual([0, 0, 1]);
    expect(credit('first-touch')).toEqual([1, 0, 0]);
    expect(credit('linear')).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(credit('position-based')).toEqual([0.4, expect.closeTo(0.2, 12), 0.4]);
    expect(credit('position-based', touches.slice(0, 2))).toEqual([0.5, 0.5]);
    expect(credit('linear', [])).toEqual([]);
  });

  it('halves a touch’s weight per half-life before the conversion', () => {
    // Weights 2^(-29/168), 2^(-5/168), 2^(-5/168), normalised.
    const [email, sms, audience] = credit('time-decay');
    expect(email).toBeCloseTo(0.311703, 5);
    expect(sms).toBeCloseTo(0.344148, 5);
    expect(audience).toBeCloseTo(0.344148, 5);
  });

  it('reads revenue as the e-commerce spec names it', () => {
    expect(revenueOf({ revenue: 12.5, value: 99 })).toBe(12.5);
    expect(revenueOf({ value: '30' })).toBe(30);
    expect(revenueOf({ total: 7 })).toBe(7);
    expect(revenueOf({ revenue: 'n/a' })).toBe(0);
  });
});
