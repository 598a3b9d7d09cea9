/** The SDK's pure parts: conditions, local-time arithmetic across DST, deterministic splits. */
import { describe, expect, it } from 'vitest';
import { all, any, eq, evaluate, exists, gt, isIn, not } from '../workflows/sdk/conditions.js';
import { targetTime } from '../workflows/sdk/local-time.js';
import { chooseVariant } from '../workflows/sdk/split.js';

describe('conditions', () => {
  const scope = { event: { value: 120, tags: ['sale'] }, profile: { plan: 'pro', country: 'DE' } };
  it('evaluates comparisons and combinations', () => {
    expect(evaluate(all(eq('profile.plan', 'pro'), gt('event.value', 100)), scope)).toBe(true);
    expect(evaluate(any(eq('profile.plan', 'free'), isIn('profile.country', ['FR', 'DE'])), scope)).toBe(true);
    expect(evaluate(not(exists('profile.email')), scope)).toBe(true);
    expect(evaluate({ field: 'event.tags', op: 'contains', value: 'sale' }, scope)).toBe(true);
    expect(evaluate(gt('profile.plan', 3), scope)).toBe(false); // a string is never greater than a number
  });
});

describe('local time', () => {
  it('keeps 10:00 on the wall clock across the start of US daylight saving time', () => {
    // Delivered Friday 12 March 2027; DST starts Sunday 14 March; three days later is Monday 15 March.
    const at = targetTime({ now: 0, zone: 'America/New_York', date: '2027-03-12T15:00:00Z', offset: '3 days', atLocalTime: '10:00' });
    expect(new Date(at).toISOString()).toBe('2027-03-15T14:00:00.000Z'); // 10:00 EDT (UTC-4), not 15:00Z
  });

  it('uses the customer\'s own zone, however far away', () => {
    const at = targetTime({ now: 0, zone: 'Pacific/Auckland', date: '2027-03-12T15:00:00Z', offset: '3 days', atLocalTime: '10:00' });
    // Delivery was already 13 March in Auckland: three days later is 16 March, 10:00 NZDT (UTC+13).
    expect(new Date(at).toISOString()).toBe('2027-03-15T21:00:00.000Z');
  });

  it('without a date, the next such local time', () => {
    const now = Date.parse('2026-11-23T12:00:00Z'); // 13:00 in Berlin
    expect(new Date(targetTime({ now, zone: 'Europe/Berlin', atLocalTime: '10:00' })).toISOString()).toBe('2026-11-24T09:00:00.000Z');
    expect(new Date(targetTime({ now, zone: 'Europe/Berlin', atLocalTime: '18:30' })).toISOString()).toBe('2026-11-23T17:30:00.000Z');
  });

  it('offsets backwards: a renewal date minus 7 days', () => {
    const at = targetTime({ now: 0, zone: 'UTC', date: '2027-01-31', offset: '-7 days' });
    expect(new Date(at).toISOString()).toBe('2027-01-24T00:00:00.000Z');
  });
});

describe('splits', () => {
  const variants = [
    { name: 'A', percent: 45 },
    { name: 'B', percent: 45 },
    { name: 'holdout', percent: 10 },
  ];
  it('assigns the same customer to the same variant every time', () => {
    expect(chooseVariant(variants, 'winBack:subject-test:u-42')).toBe(chooseVariant(variants, 'winBack:subject-test:u-42'));
  });

  it('matches the percentages over many customers', () => {
    const counts: Record<string, number> = { A: 0, B: 0, holdout: 0 };
    for (let i = 0; i < 20_000; i++) counts[chooseVariant(variants, `winBack:subject-test:user-${i}`).name]!++;
    expect(counts.A! / 20_000).toBeCloseTo(0.45, 1);
    expect(counts.B! / 20_000).toBeCloseTo(0.45, 1);
    expect(counts.holdout! / 20_000).toBeGreaterThan(0.08);
    expect(counts.holdout! / 20_000).toBeLessThan(0.12);
  });
});
