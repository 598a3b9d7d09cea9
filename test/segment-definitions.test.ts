/**
 * Segment definitions: checked at load, locked like journey versions, and evaluated as a marketer
 * reads them, with the instant at which time alone changes the answer.
 */
import { describe, expect, it } from 'vitest';
import { segmentVersions } from '../segments/definitions/index.js';
import { defineSegment, checkSegments, type SegmentDefinition } from '../segments/sdk/segment.js';
import { evaluate, type CustomerState, type Fact } from '../segments/sdk/evaluate.js';
import { compareSegmentsWithLock, readSegmentLock } from '../client/segment-lock.js';
import { describeChange } from '../client/version-lock.js';

const DAY = 86_400_000;
const RETENTION = 400 * DAY;
const now = Date.parse('2026-06-01T12:00:00Z');
const state = (facts: Fact[] = [], traits: Record<string, unknown> = {}, segments: string[] = []): CustomerState => ({
  traits,
  facts,
  suppressions: [],
  inSegment: (id) => segments.includes(id),
});
const seg = (where: SegmentDefinition['where']) => defineSegment({ id: 't', version: 1, description: 'test', where });

describe('segment definitions', () => {
  it('every shipped version is in the lock, unchanged', async () => {
    const { unlocked, changed } = compareSegmentsWithLock(segmentVersions, await readSegmentLock());
    expect(unlocked.map((s) => `${s.id} v${s.version}`), 'run npm run cli -- segments lock').toEqual([]);
    expect(changed.map(describeChange)).toEqual([]);
    // A changed condition is a changed fingerprint.
    const edited = { ...segmentVersions[0]!, where: { event: 'Order Completed', within: '30 days', none: true as const } };
    expect(compareSegmentsWithLock([edited], await readSegmentLock()).changed.map(describeChange)).toEqual([`${edited.id} v1: where changed`]);
  });

  it('refuses unknown fields, malformed spans, windows longer than retention, unknown segments and cycles', () => {
    expect(() => seg({ event: 'X', withn: '7 days' } as never)).toThrow(/segment "t" v1/);
    expect(() => seg({ event: 'X', within: 'a week' })).toThrow(/span/);
    expect(() => seg({ event: 'X', count: { atLeast: 1 }, none: true })).toThrow(/one of count/);
    expect(() => checkSegments([seg({ event: 'X', within: '500 days' })], { eventRetentionMs: RETENTION })).toThrow(/longer than events are kept/);
    expect(() => checkSegments([seg({ inSegment: 'nowhere' })], { eventRetentionMs: RETENTION })).toThrow(/not in the build/);
    const a = defineSegment({ id: 'a', version: 1, description: 'a', where: { inSegment: 'b' } });
    const b = defineSegment({ id: 'b', version: 1, description: 'b', where: { not: { inSegment: 'a' } } });
    expect(() => checkSegments([a, b], { eventRetentionMs: RETENTION })).toThrow(/cycle: a → b → a/);
    // Evaluation order puts a segment after those it reads.
    const order = checkSegments(segmentVersions, { eventRetentionMs: RETENTION }).map((s) => s.id);
    expect(order.indexOf('vip')).toBeLessThan(order.indexOf('newsletter'));
  });

  it('counts occurrences in a window with property filters, and wakes when the oldest leaves it', () => {
    const views = seg({ event: 'Product Viewed', within: '7 days', where: { category: 'shoes' }, count: { atLeast: 3 } });
    const facts = [1, 2, 3, 8].map((daysAgo): Fact => ({ event: 'Product Viewed', at: now - daysAgo * DAY, properties: { category: 'shoes' } }));
    facts.push({ event: 'Product Viewed', at: now - DAY, properties: { category: 'hats' } });
    const verdict = evaluate(views.where, state(facts), now, RETENTION);
    expect(verdict).toEqual({ member: true, decidedBy: 'Product Viewed with category = "shoes" at least 3 times in the last 7 days', nextAt: now + 4 * DAY });
    expect(evaluate(views.where, state(facts), now + 4 * DAY, RETENTION).member).toBe(false);
  });

  it('absence, sums, largest values and last occurrence, with the moment each changes', () => {
    const order = (daysAgo: number, revenue: number): Fact => ({ event: 'Order Completed', at: now - daysAgo * DAY, properties: { revenue } });
    const lapsed = segmentVersions.find((s) => s.id === 'lapsed')!;
    const orders = [order(50, 300), order(100, 250)];
    const notYet = evaluate(lapsed.where, state(orders), now, RETENTION);
    expect(notYet).toMatchObject({ member: false, decidedBy: 'not: no Order Completed in the last 60 days', nextAt: now + 10 * DAY });
    expect(evaluate(lapsed.where, state(orders), now + 10 * DAY, RETENTION)).toMatchObject({ member: true });
    const vip = segmentVersions.find((s) => s.id === 'vip')!;
    expect(evaluate(vip.where, state(orders), now, RETENTION)).toMatchObject({ member: true, decidedBy: 'sum of revenue of Order Completed in the last 365 days > 500' });
    expect(evaluate(vip.where, state([order(50, 300)]), now, RETENTION).member).toBe(false);
    expect(evaluate(vip.where, state([], { vip: true }), now, RETENTION).member).toBe(true);
    const big = seg({ event: 'Order Completed', within: '365 days', max: { property: 'revenue', gte: 300 } });
    expect(evaluate(big.where, state(orders), now, RETENTION).member).toBe(true);
    const recent = seg({ event: 'Order Completed', last: { newerThan: '60 days' } });
    expect(evaluate(recent.where, state(orders), now, RETENTION)).toMatchObject({ member: true, nextAt: now + 10 * DAY });
  });

  it('traits: comparisons, sets, presence, and dates relative to now', () => {
    const renewal = seg({ trait: 'renewal_date', withinNext: '7 days' });
    const date = new Date(now + 10 * DAY).toISOString();
    expect(evaluate(renewal.where, state([], { renewal_date: date }), now, RETENTION)).toMatchObject({ member: false, nextAt: now + 3 * DAY });
    expect(evaluate(renewal.where, state([], { renewal_date: date }), now + 3 * DAY, RETENTION)).toMatchObject({ member: true, nextAt: now + 10 * DAY });
    const veteran = seg({ trait: 'created_at', olderThan: '365 days' });
    expect(evaluate(veteran.where, state([], { created_at: '2025-01-01' }), now, RETENTION).member).toBe(true);
    const german = seg({ all: [{ trait: 'country', in: ['DE', 'AT'] }, { trait: 'ltv', gt: 100 }, { trait: 'email', exists: true }] });
    expect(evaluate(german.where, state([], { country: 'DE', ltv: 150, email: 'a@b' }), now, RETENTION).member).toBe(true);
    expect(evaluate(german.where, state([], { country: 'DE', ltv: 50, email: 'a@b' }), now, RETENTION)).toMatchObject({ member: false, decidedBy: 'not: ltv > 100' });
  });

  it('dates as occasions: every year at a local time, DST-correct, February 29 on the 28th, with an offset, moved by the time zone', () => {
    const birthday = seg({ date: 'birthday', every: 'year', atLocalTime: '09:00', fallbackTimeZone: 'America/New_York' });
    const at = (iso: string) => Date.parse(iso);
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    const berlin = (birthday_: string) => state([], { birthday: birthday_, timezone: 'Europe/Berlin' });
    expect(evaluate(birthday.where, berlin('1990-01-10'), at('2027-01-10T07:59:00Z'), RETENTION)).toMatchObject({ member: false, nextAt: at('2027-01-10T08:00:00Z') });
    expect(evaluate(birthday.where, berlin('1990-04-10'), at('2027-04-10T07:00:00Z'), RETENTION)).toMatchObject({ member: true, nextAt: at('2027-04-11T07:00:00Z') });
    // The night the clocks go forward (to 28 March 2027) is an hour short: "a day" from 09:00 still ends at 09:00.
    expect(evaluate(birthday.where, berlin('1990-03-27'), at('2027-03-27T08:00:00Z'), RETENTION)).toMatchObject({ member: true, nextAt: at('2027-03-28T07:00:00Z') });
    // No time zone in the profile: the fallback's 09:00.
    expect(evaluate(birthday.where, state([], { birthday: '1990-07-04' }), at('2027-07-04T12:59:00Z'), RETENTION)).toMatchObject({ member: false, nextAt: at('2027-07-04T13:00:00Z') });
    // Born on 29 February: the 28th in 2027, the 29th in 2028.
    expect(evaluate(birthday.where, state([], { birthday: '1992-02-29', timezone: 'UTC' }), at('2027-02-28T10:00:00Z'), RETENTION).member).toBe(true);
    expect(evaluate(birthday.where, state([], { birthday: '1992-02-29', timezone: 'UTC' }), at('2028-02-28T10:00:00Z'), RETENTION)).toMatchObject({ member: false, nextAt: at('2028-02-29T09:00:00Z') });
    const renewal = seg({ date: 'renewal_date', offset: '-7 days', atLocalTime: '10:00', lasting: '2 hours' });
    expect(evaluate(renewal.where, state([], { renewal_date: '2027-01-20' }), at('2027-01-13T10:30:00Z'), RETENTION)).toMatchObject({ member: true, nextAt: at('2027-01-13T12:00:00Z') });
    expect(evaluate(renewal.where, state([], { renewal_date: '2027-01-20' }), at('2027-01-13T12:00:00Z'), RETENTION)).toMatchObject({ member: false, nextAt: undefined });
    expect(evaluate(renewal.where, state([], { renewal_date: 'soon' }), at('2027-01-13T10:30:00Z'), RETENTION)).toMatchObject({ member: false, nextAt: undefined });
    expect(() => seg({ date: 'birthday', atLocalTime: '9am' } as never)).toThrow(/a local time like "09:00"/);
    expect(() => seg({ date: 'birthday', atLocalTime: '09:00', fallbackTimeZone: 'Mars/Olympus' })).toThrow(/an IANA time zone/);
  });

  it('consent, suppression and other segments', () => {
    const newsletter = segmentVersions.find((s) => s.id === 'newsletter')!;
    const traits = { email: 'a@example.com', consent: { categories: { newsletter: { email: true } } } };
    expect(evaluate(newsletter.where, state([], traits), now, RETENTION).member).toBe(true);
    expect(evaluate(newsletter.where, state([], traits, ['vip']), now, RETENTION)).toMatchObject({ member: false, decidedBy: 'in segment vip' });
    const suppressed = { ...state([], traits), suppressions: [{ channel: 'email', expiresAt: now + DAY }] };
    expect(evaluate(newsletter.where, suppressed, now, RETENTION)).toMatchObject({ member: false, decidedBy: 'suppressed on email', nextAt: now + DAY });
  });
});
