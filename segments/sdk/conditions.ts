/**
 * What a segment's `where` may say: plain, serialisable data (a definition is fingerprinted and
 * locked like a journey version, and shown in the console as written). The schema is strict, so a
 * misspelt field is refused at load rather than read as "no condition".
 */
import { z } from 'zod';
import { isOffset, isValidZone, LOCAL_TIME } from '../../workflows/sdk/local-time.js';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof scalar>;

/** '7 days', '60 days', '12h': a span measured back (or forward) from now. */
const span = z.string().refine((text) => isOffset(text) && !text.trim().startsWith('-'), 'a span like "7 days" or "12h"');

const bound = z.union([z.number(), z.string()]);

/** '-7 days', '3 days': a calendar offset either way. */
const offset = z.string().refine(isOffset, 'an offset like "-7 days" or "3 days"');
const localTime = z.string().regex(LOCAL_TIME, 'a local time like "09:00"');

/** A value's test: equality, a set, comparisons (numbers, or ISO dates as text), presence. */
const comparisonShape = {
  equals: scalar.optional(),
  in: z.array(scalar).min(1).optional(),
  gt: bound.optional(),
  gte: bound.optional(),
  lt: bound.optional(),
  lte: bound.optional(),
  exists: z.boolean().optional(),
};
const comparison = z.object(comparisonShape).strict();
export type Comparison = z.infer<typeof comparison>;

const numberTest = z.object({ gt: z.number().optional(), gte: z.number().optional(), lt: z.number().optional(), lte: z.number().optional() }).strict();
/** An occurrence's (or a date's) age: older or newer than a span from now. */
const age = z.object({ olderThan: span.optional(), newerThan: span.optional() }).strict();

const traitCondition = z
  .object({
    trait: z.string().min(1),
    ...comparisonShape,
    // The trait is a date: how long ago it was, or how soon it comes.
    olderThan: span.optional(),
    newerThan: span.optional(),
    withinNext: span.optional(),
  })
  .strict();

const eventCondition = z
  .object({
    event: z.string().min(1),
    /** Only occurrences in the last `within` count; default: the whole event retention. */
    within: span.optional(),
    /** Property filters: a value (equality) or a comparison. */
    where: z.record(z.string(), z.union([scalar, comparison])).optional(),
    count: z.object({ atLeast: z.number().int().min(0).optional(), atMost: z.number().int().min(0).optional() }).strict().optional(),
    none: z.literal(true).optional(),
    sum: numberTest.extend({ property: z.string().min(1) }).strict().optional(),
    max: numberTest.extend({ property: z.string().min(1) }).strict().optional(),
    first: age.optional(),
    last: age.optional(),
  })
  .strict()
  .refine((c) => ['count', 'none', 'sum', 'max', 'first', 'last'].filter((k) => k in c).length <= 1, 'one of count, none, sum, max, first, last');

/**
 * A date in the profile as an occasion: in the segment from `atLocalTime` on the day (with `offset`,
 * every year with `every`), in the customer's time zone (the `timezone` trait, else
 * `fallbackTimeZone`), for `lasting` (default a day). A February 29 falls on February 28 in other years.
 */
const dateCondition = z
  .object({
    date: z.string().min(1),
    every: z.literal('year').optional(),
    offset: offset.optional(),
    atLocalTime: localTime,
    lasting: span.optional(),
    fallbackTimeZone: z.string().refine((zone) => isValidZone(zone), 'an IANA time zone').optional(),
  })
  .strict();

const consentCondition = z.object({ consent: z.enum(['email', 'sms', 'advertising']), category: z.string().optional() }).strict();
const suppressedCondition = z.object({ suppressed: z.enum(['email', 'sms', 'audience', 'webhook']) }).strict();
const segmentCondition = z.object({ inSegment: z.string().min(1) }).strict();

export type TraitCondition = z.infer<typeof traitCondition>;
export type EventCondition = z.infer<typeof eventCondition>;
export type ConsentCondition = z.infer<typeof consentCondition>;
export type SuppressedCondition = z.infer<typeof suppressedCondition>;
export type SegmentCondition = z.infer<typeof segmentCondition>;
export type DateCondition = z.infer<typeof dateCondition>;

export type Condition =
  | TraitCondition
  | EventCondition
  | ConsentCondition
  | SuppressedCondition
  | SegmentCondition
  | DateCondition
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(conditionSchema).min(1) }).strict(),
    z.object({ any: z.array(conditionSchema).min(1) }).strict(),
    z.object({ not: conditionSchema }).strict(),
    traitCondition,
    eventCondition,
    consentCondition,
    suppressedCondition,
    segmentCondition,
    dateCondition,
  ]),
);

export const isTrait = (c: Condition): c is TraitCondition => 'trait' in c;
export const isEvent = (c: Condition): c is EventCondition => 'event' in c;
export const isDate = (c: Condition): c is DateCondition => 'date' in c && 'atLocalTime' in c;

/** The conditions a condition is made of, itself first. */
export function leavesOf(condition: Condition): Condition[] {
  if ('all' in condition) return condition.all.flatMap(leavesOf);
  if ('any' in condition) return condition.any.flatMap(leavesOf);
  if ('not' in condition) return leavesOf(condition.not);
  return [condition];
}

const AGE_WORDS = { olderThan: 'more than', newerThan: 'less than' } as const;

/** A condition as a marketer reads it: what `explain` and the console say decided a membership. */
export function describe(condition: Condition): string {
  if ('all' in condition) return condition.all.map(describe).join(' and ');
  if ('any' in condition) return `(${condition.any.map(describe).join(' or ')})`;
  if ('not' in condition) return `not (${describe(condition.not)})`;
  if ('inSegment' in condition) return `in segment ${condition.inSegment}`;
  if ('consent' in condition) return `consented to ${condition.consent}${condition.category ? ` (${condition.category})` : ''}`;
  if ('suppressed' in condition) return `suppressed on ${condition.suppressed}`;
  if (isDate(condition)) {
    const { date, every, offset: by, atLocalTime, lasting = '1 day' } = condition;
    const shift = by ? `${by.replace(/^-/, '')} ${by.startsWith('-') ? 'before' : 'after'} ` : '';
    return `${shift}${date}${every ? ' every year' : ''}, from ${atLocalTime} local time for ${lasting}`;
  }
  if (isTrait(condition)) {
    const { trait, ...test } = condition;
    return `${trait} ${describeTest(test)}`;
  }
  const c = condition;
  const filters = c.where ? ` with ${Object.entries(c.where).map(([k, v]) => `${k} ${v !== null && typeof v === 'object' ? describeTest(v) : `= ${JSON.stringify(v)}`}`).join(', ')}` : '';
  const window = c.within ? ` in the last ${c.within}` : '';
  if (c.none) return `no ${c.event}${filters}${window}`;
  if (c.sum) return `sum of ${c.sum.property} of ${c.event}${filters}${window} ${describeTest(c.sum)}`;
  if (c.max) return `largest ${c.max.property} of ${c.event}${filters}${window} ${describeTest(c.max)}`;
  const occurrence = c.first ? ['first', c.first] : c.last ? ['last', c.last] : undefined;
  if (occurrence) return `${occurrence[0]} ${c.event}${filters}${window} ${describeTest(occurrence[1] as object)}`;
  const { atLeast = 1, atMost } = c.count ?? {};
  if (atLeast === 1 && atMost === undefined) return `${c.event}${filters}${window}`;
  return `${c.event}${filters} ${atMost === undefined ? `at least ${atLeast}` : `${atLeast} to ${atMost}`} times${window}`;
}

function describeTest(test: object): string {
  const words: string[] = [];
  for (const [key, value] of Object.entries(test as Record<string, unknown>)) {
    if (value === undefined || key === 'property') continue;
    if (key === 'equals') words.push(`= ${JSON.stringify(value)}`);
    else if (key === 'in') words.push(`in ${JSON.stringify(value)}`);
    else if (key === 'exists') words.push(value ? 'is set' : 'is not set');
    else if (key === 'withinNext') words.push(`within the next ${String(value)}`);
    else if (key in AGE_WORDS) words.push(`${AGE_WORDS[key as keyof typeof AGE_WORDS]} ${String(value)} ago`);
    else words.push(`${{ gt: '>', gte: '≥', lt: '<', lte: '≤' }[key] ?? key} ${JSON.stringify(value)}`);
  }
  return words.join(' and ');
}
