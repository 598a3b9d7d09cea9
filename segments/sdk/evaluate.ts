/**
 * A segment's condition over one customer at one moment: whether they are in, which condition
 * decided it (what `explain` shows), and the next instant at which time alone could change the
 * answer (an occurrence leaving its window, a date coming of age), so the engine re-evaluates then
 * and never by scanning. Pure: the same customer and moment give the same answer.
 */
import { DateTime } from 'luxon';
import { isValidZone, parseOffset, spanMs } from '../../workflows/sdk/local-time.js';
import { describe, isDate, isEvent, isTrait, type Comparison, type Condition, type DateCondition, type EventCondition, type TraitCondition } from './conditions.js';

/** One occurrence of an event a segment reads, with the properties segments read of it. */
export interface Fact {
  event: string;
  at: number;
  properties: Record<string, unknown>;
}

export interface CustomerState {
  traits: Record<string, unknown>;
  facts: Fact[];
  /** Active suppressions: channel ('*' for all) and when each ends, if it does. */
  suppressions: { channel: string; expiresAt?: number }[];
  /** Membership of the segments this one reads, as just computed. */
  inSegment(id: string): boolean;
}

export interface Verdict {
  member: boolean;
  decidedBy: string;
  nextAt?: number;
}

const earliest = (...instants: (number | undefined)[]) => {
  const set = instants.filter((i): i is number => i !== undefined);
  return set.length ? Math.min(...set) : undefined;
};

/** Instants still ahead of now, the only ones worth waking for. */
const ahead = (now: number, ...instants: number[]) => earliest(...instants.filter((i) => i > now));

function valueAt(record: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), record);
}

function compare(value: unknown, bound: number | string): number | undefined {
  if (typeof bound === 'number') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    return Number.isNaN(n) ? undefined : n - bound;
  }
  return typeof value === 'string' ? (value < bound ? -1 : value > bound ? 1 : 0) : undefined;
}

export function passes(value: unknown, test: Comparison): boolean {
  const present = value !== undefined && value !== null && value !== '';
  if (test.exists !== undefined && test.exists !== present) return false;
  if ('equals' in test && test.equals !== undefined && value !== test.equals) return false;
  if (test.in && !test.in.includes(value as never)) return false;
  const checks: [number | string | undefined, (d: number) => boolean][] = [
    [test.gt, (d) => d > 0],
    [test.gte, (d) => d >= 0],
    [test.lt, (d) => d < 0],
    [test.lte, (d) => d <= 0],
  ];
  for (const [bound, ok] of checks) {
    if (bound === undefined) continue;
    const d = compare(value, bound);
    if (d === undefined || !ok(d)) return false;
  }
  return true;
}

/** A trait as an instant: an ISO date or timestamp, or epoch milliseconds. */
function instantOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return undefined;
  const parsed = DateTime.fromISO(value, { zone: 'utc' });
  return parsed.isValid ? parsed.toMillis() : undefined;
}

/** An age test: olderThan and newerThan a span, with the instants at which each flips. */
function ageTest(at: number, test: { olderThan?: string; newerThan?: string }, now: number): { value: boolean; nextAt?: number } {
  let value = true;
  const flips: number[] = [];
  if (test.olderThan) {
    const from = at + spanMs(test.olderThan);
    value &&= now >= from;
    flips.push(from);
  }
  if (test.newerThan) {
    const until = at + spanMs(test.newerThan);
    value &&= now < until;
    flips.push(until);
  }
  return { value, nextAt: ahead(now, ...flips) };
}

function traitVerdict(c: TraitCondition, state: CustomerState, now: number): { value: boolean; nextAt?: number } {
  const { trait, olderThan, newerThan, withinNext, ...test } = c;
  const value = valueAt(state.traits, trait);
  if (!passes(value, test)) return { value: false };
  if (!olderThan && !newerThan && !withinNext) return { value: true };
  const at = instantOf(value);
  if (at === undefined) return { value: false };
  const aged = ageTest(at, { olderThan, newerThan }, now);
  if (!withinNext) return aged;
  const opens = at - spanMs(withinNext);
  return { value: aged.value && now >= opens && now < at, nextAt: earliest(aged.nextAt, ahead(now, opens, at)) };
}

function eventVerdict(c: EventCondition, state: CustomerState, now: number, retentionMs: number): { value: boolean; nextAt?: number } {
  const windowMs = c.within ? spanMs(c.within) : retentionMs;
  const counted = state.facts.filter(
    (f) =>
      f.event === c.event &&
      f.at > now - windowMs &&
      Object.entries(c.where ?? {}).every(([key, test]) => (test !== null && typeof test === 'object' ? passes(f.properties[key], test) : f.properties[key] === test)),
  );
  // Each counted occurrence leaves the window then, and the answer may change with it.
  const leaves = ahead(now, ...counted.map((f) => f.at + windowMs));
  const numbers = (property: string) => counted.map((f) => f.properties[property]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (c.sum) return { value: passes(numbers(c.sum.property).reduce((a, b) => a + b, 0), c.sum), nextAt: leaves };
  if (c.max) {
    const values = numbers(c.max.property);
    return { value: values.length > 0 && passes(Math.max(...values), c.max), nextAt: leaves };
  }
  const occurrence = c.first ?? c.last;
  if (occurrence) {
    if (!counted.length) return { value: false, nextAt: leaves };
    const ats = counted.map((f) => f.at);
    const aged = ageTest(c.first ? Math.min(...ats) : Math.max(...ats), occurrence, now);
    return { value: aged.value, nextAt: earliest(aged.nextAt, leaves) };
  }
  const { atLeast = c.none ? 0 : 1, atMost = c.none ? 0 : undefined } = c.count ?? {};
  return { value: counted.length >= atLeast && (atMost === undefined || counted.length <= atMost), nextAt: leaves };
}

/** Years around now whose occasion may matter: enough for offsets of up to a year either way. */
const YEARS_AROUND = [-2, -1, 0, 1, 2];

/** Each occasion's window, from its start in the customer's zone (DST-correct: luxon keeps the wall-clock time). */
function dateVerdict(c: DateCondition, traits: Record<string, unknown>, now: number): { value: boolean; nextAt?: number } {
  const raw = valueAt(traits, c.date);
  const base = typeof raw === 'string' ? DateTime.fromISO(raw, { setZone: true }) : undefined;
  if (!base?.isValid) return { value: false };
  const zone = typeof traits.timezone === 'string' && isValidZone(traits.timezone) ? traits.timezone : (c.fallbackTimeZone ?? 'UTC');
  const [hour, minute] = c.atLocalTime.split(':').map(Number);
  const lasting = parseOffset(c.lasting ?? '1 day');
  const thisYear = DateTime.fromMillis(now, { zone }).year;
  const years = c.every ? YEARS_AROUND.map((d) => thisYear + d) : [base.year];
  const windows = years.map((year) => {
    // February 29 on February 28 in the years without one.
    const day = Math.min(base.day, DateTime.fromObject({ year, month: base.month }, { zone }).daysInMonth!);
    const day0 = DateTime.fromObject({ year, month: base.month, day, hour, minute }, { zone });
    const start = c.offset ? day0.plus(parseOffset(c.offset)) : day0;
    // In calendar units: a day from 09:00 ends at 09:00 the next day, even across a clock change.
    return [start.toMillis(), start.plus(lasting).toMillis()] as const;
  });
  return { value: windows.some(([start, end]) => now >= start && now < end), nextAt: ahead(now, ...windows.flat()) };
}

function consentVerdict(c: { consent: string; category?: string }, traits: Record<string, unknown>): boolean {
  const consent = (traits.consent ?? {}) as Record<string, unknown>;
  const inCategory = c.category ? valueAt(consent, `categories.${c.category}.${c.consent}`) : undefined;
  return (inCategory ?? consent[c.consent]) === true;
}

export function evaluate(where: Condition, state: CustomerState, now: number, retentionMs: number): Verdict {
  if ('all' in where || 'any' in where) {
    const all = 'all' in where;
    const parts = (all ? where.all : where.any).map((c) => evaluate(c, state, now, retentionMs));
    const decisive = parts.find((p) => p.member !== all);
    return { member: decisive ? !all : all, decidedBy: decisive?.decidedBy ?? describe(where), nextAt: earliest(...parts.map((p) => p.nextAt)) };
  }
  if ('not' in where) {
    const inner = evaluate(where.not, state, now, retentionMs);
    // Out because the inner condition holds (its reason), or in because it does not.
    return { member: !inner.member, decidedBy: inner.member ? inner.decidedBy : describe(where), nextAt: inner.nextAt };
  }
  const leaf = (value: boolean, nextAt?: number): Verdict => ({ member: value, decidedBy: value ? describe(where) : `not: ${describe(where)}`, nextAt });
  if (isTrait(where)) {
    const v = traitVerdict(where, state, now);
    return leaf(v.value, v.nextAt);
  }
  if (isEvent(where)) {
    const v = eventVerdict(where, state, now, retentionMs);
    return leaf(v.value, v.nextAt);
  }
  if (isDate(where)) {
    const v = dateVerdict(where, state.traits, now);
    return leaf(v.value, v.nextAt);
  }
  if ('inSegment' in where) return leaf(state.inSegment(where.inSegment));
  if ('consent' in where) return leaf(consentVerdict(where, state.traits));
  const holding = state.suppressions.filter((s) => (s.channel === '*' || s.channel === where.suppressed) && (s.expiresAt === undefined || s.expiresAt > now));
  return leaf(holding.length > 0, ahead(now, ...holding.flatMap((s) => (s.expiresAt ? [s.expiresAt] : []))));
}
