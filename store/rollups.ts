/**
 * Rollups: what the reports read instead of the raw records. One document per journey, version and
 * day, written only by the rollup schedule (reports/rollup.ts), a single writer, so its increments
 * need no atomic read-modify-write (FerretDB has none). Each document remembers, per source, the last
 * batch folded into it; a batch folded again after a crash finds its mark there and changes nothing.
 */
import type { Collection } from 'mongodb';
import { insertNew, isDuplicateKey } from './db.js';
import { fieldKey, fieldName } from './field-rules.js';

export interface GoalRollup {
  /** Every goal event reached, a customer's second order included. */
  conversions?: number;
  /** Instances that reached the goal (their first time). */
  converters?: number;
  revenue?: number;
  /** From entry to the first conversion, per converter. */
  secondsToConvert?: number[];
  /** Converters per split step and arm (field keys, see fieldKey). */
  arms?: Record<string, Record<string, number>>;
  /** Conversions credited to messages: one per goal event, however many journeys had it as a goal. */
  credited?: number;
  /**
   * Credit per attribution model and message (a touchKey: journey, version and step, of this journey
   * or another): conversions (fractions) and revenue.
   */
  attribution?: Record<string, Record<string, { conversions?: number; revenue?: number }>>;
  /** Credited conversions with no message in the goal's window to credit. */
  unattributed?: number;
  /** Credited conversions folded while audience membership counted as a touch (reports/touches.ts). */
  audiencesCounted?: number;
}

export interface JourneyDayDoc {
  _id: string;
  kind: 'journey-day';
  journeyId: string;
  version: number;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** Step (field key) → outcome (field key) → how many records. */
  outcomes?: Record<string, Record<string, number>>;
  /**
   * Send step (field key) → opens and clicks: `opened`/`clicked` (sends with a first human one),
   * `opens`/`clicks` (every human one), `machine-opens`/`machine-clicks` (flagged, left out).
   */
  engagement?: Record<string, Record<string, number>>;
  /** Send step (field key) → what providers reported after sending: `delivered`, `failed`. */
  delivery?: Record<string, Record<string, number>>;
  /** Goal (field key) → what its conversions were. */
  goals?: Record<string, GoalRollup>;
  /** Source → the last batch folded in. */
  marks?: Record<string, string>;
}

/** Where the rollup stands in one source: `done` folded everywhere, `pending` being folded. */
export interface RollupCursorDoc {
  _id: string;
  kind: 'cursor';
  done?: string;
  pending?: string;
}

/**
 * Which conversion gets to credit messages for a goal event several journeys counted (the first
 * folded), keyed by customer and messageId. A collection of its own, so the rollups stay as small as
 * the number of journey days and reports read only those.
 */
export interface CreditClaimDoc {
  _id: string;
  conversion: string;
  at: Date;
}

export type RollupDoc = JourneyDayDoc | RollupCursorDoc;

/** A message as attribution names it: journey, version and step, each encoded, joined by '/'. */
export const touchKey = (touch: { journeyId: string; version: number; stepId: string }) =>
  fieldKey([touch.journeyId, String(touch.version), touch.stepId].map(encodeURIComponent).join('/'));

export function touchOf(key: string): { journeyId: string; version: number; stepId: string } {
  const [journeyId, version, stepId] = fieldName(key).split('/').map(decodeURIComponent);
  return { journeyId: journeyId!, version: Number(version), stepId: stepId! };
}

/**
 * Claims the credit for each goal event (customer and messageId) for one of the conversions that
 * share it; returns the ids of the conversions that hold it, a claim made by an earlier run included.
 */
export async function claimCredit(creditClaims: Collection<CreditClaimDoc>, conversions: Array<{ _id: string; userId: string; messageId: string }>): Promise<Set<string>> {
  if (conversions.length === 0) return new Set();
  const at = new Date();
  const claims = conversions.map((c) => ({ _id: `${c.userId}/${c.messageId}`, conversion: c._id, at }));
  await insertNew(creditClaims, claims);
  const held = await creditClaims.find({ _id: { $in: claims.map((c) => c._id) } }).toArray();
  return new Set(held.map((c) => c.conversion));
}

export const journeyDayId = (journeyId: string, version: number, day: string) => `journey/${journeyId}/${version}/${day}`;
const cursorId = (source: string) => `cursor/${source}`;

export async function readCursor(rollups: Collection<RollupDoc>, source: string): Promise<RollupCursorDoc> {
  const doc = await rollups.findOne({ _id: cursorId(source) });
  return (doc as RollupCursorDoc | null) ?? { _id: cursorId(source), kind: 'cursor' };
}

export async function writeCursor(rollups: Collection<RollupDoc>, source: string, position: { done?: string; pending?: string }): Promise<void> {
  const unset = position.pending === undefined ? { $unset: { pending: '' as const } } : {};
  await rollups.updateOne(
    { _id: cursorId(source) },
    { $set: { kind: 'cursor', ...(position.done ? { done: position.done } : {}), ...(position.pending ? { pending: position.pending } : {}) }, ...unset },
    { upsert: true },
  );
}

export interface DayDelta {
  journeyId: string;
  version: number;
  day: string;
  inc: Record<string, number>;
  push: Record<string, number[]>;
}

/**
 * Adds one batch's delta to its document, unless that document already has this batch (or a later
 * one) from this source. When it has, the conditional upsert matches nothing and tries to insert the
 * existing `_id`: the duplicate-key error is the "already folded" answer.
 */
export async function applyDelta(rollups: Collection<RollupDoc>, source: string, mark: string, delta: DayDelta): Promise<void> {
  const markField = `marks.${source}`;
  const push = Object.fromEntries(Object.entries(delta.push).map(([path, values]) => [path, { $each: values }]));
  try {
    await rollups.updateOne(
      { _id: journeyDayId(delta.journeyId, delta.version, delta.day), $or: [{ [markField]: { $exists: false } }, { [markField]: { $lt: mark } }] },
      {
        $set: { kind: 'journey-day', journeyId: delta.journeyId, version: delta.version, day: delta.day, [markField]: mark },
        ...(Object.keys(delta.inc).length ? { $inc: delta.inc } : {}),
        ...(Object.keys(push).length ? { $push: push } : {}),
      },
      { upsert: true },
    );
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** The journey days in a period (inclusive): of one journey, or one version, or every journey. */
export async function journeyDays(
  rollups: Collection<RollupDoc>,
  scope: { journeyId?: string; version?: number; from?: string; to?: string },
): Promise<JourneyDayDoc[]> {
  const day = { ...(scope.from ? { $gte: scope.from } : {}), ...(scope.to ? { $lte: scope.to } : {}) };
  const docs = await rollups
    .find({
      kind: 'journey-day',
      ...(scope.journeyId !== undefined ? { journeyId: scope.journeyId } : {}),
      ...(scope.version !== undefined ? { version: scope.version } : {}),
      ...(Object.keys(day).length ? { day } : {}),
    })
    .toArray();
  return docs as JourneyDayDoc[];
}
