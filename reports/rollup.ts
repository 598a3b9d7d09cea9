/**
 * The rollup: folds new step records, conversions, opens and clicks, and providers' delivery reports into per-journey, per-version, per-day documents
 * (store/rollups.ts), so reports read a few small documents instead of every record. Run by one
 * schedule (a single writer) in batches read in write order; each batch's end is saved before it is
 * applied, so after a crash the same batch is applied again and the documents that already have it
 * are left alone. Reads stop `lagMs` short of now: a write stamped a moment ago may still be landing.
 */
import type { Collection, Document, Filter } from 'mongodb';
import type { ConversionDoc, Database } from '../store/db.js';
import { fieldKey } from '../store/field-rules.js';
import type { ProgressDoc } from '../store/journey-progress.js';
import type { DeliveryReportDoc } from '../store/delivery-reports.js';
import type { EngagementDoc } from '../store/engagement.js';
import { applyDelta, claimCredit, readCursor, touchKey, writeCursor, type DayDelta } from '../store/rollups.js';
import { ATTRIBUTION_MODELS, creditWeights, revenueOf, type Touch } from './attribution.js';
import { isTouch, type TouchRule } from './touches.js';

export interface RollupOptions {
  lagMs: number;
  batchSize: number;
  /** The time-decay model's half-life. */
  halfLifeMs: number;
  /** Retargeting audience membership counts as a touch (reports/touches.ts); by default it does not. */
  countAudiences?: boolean;
}

export interface RollupReport {
  progressRecords: number;
  conversions: number;
  engagements: number;
  deliveryReports: number;
}

const day = (at: Date | string) => new Date(at).toISOString().slice(0, 10);

/** The outcome as the funnel counts it: a deferral without its time, a time-of-day wait without its target. */
export function outcomeClass(outcome: string): string {
  return outcome.replace(/ until .*$/, '').replace(/^waited-until:.*$/, 'waited-until');
}

class Deltas {
  readonly byDoc = new Map<string, DayDelta>();

  for(journeyId: string, version: number, at: Date | string): DayDelta {
    const d = day(at);
    const id = `${journeyId}/${version}/${d}`;
    let delta = this.byDoc.get(id);
    if (!delta) this.byDoc.set(id, (delta = { journeyId, version, day: d, inc: {}, push: {} }));
    return delta;
  }
}

const add = (delta: DayDelta, path: string, amount: number) => {
  delta.inc[path] = (delta.inc[path] ?? 0) + amount;
};

/** An instance that left while in a step (a wait, a deferred send) reached it, and is counted there. */
export const EXITED_HERE = 'exited-here';

function foldProgress(deltas: Deltas, record: ProgressDoc): void {
  const delta = deltas.for(record.journeyId, record.version, record.at);
  add(delta, `outcomes.${fieldKey(record.stepId)}.${fieldKey(outcomeClass(record.outcome))}`, 1);
  if (record.inStep) add(delta, `outcomes.${fieldKey(record.inStep)}.${EXITED_HERE}`, 1);
}

function foldEngagement(deltas: Deltas, engagement: EngagementDoc): void {
  // Sends by builds before versions were recorded cannot be placed in a version's funnel.
  if (engagement.version === undefined) return;
  const delta = deltas.for(engagement.journeyId, engagement.version, engagement.at);
  const step = `engagement.${fieldKey(engagement.stepId)}`;
  const [one, every] = engagement.kind === 'open' ? ['opened', 'opens'] : ['clicked', 'clicks'];
  if (engagement.machine) return add(delta, `${step}.machine-${every}`, 1);
  add(delta, `${step}.${every}`, 1);
  if (engagement.first) add(delta, `${step}.${one}`, 1);
}

function foldDeliveryReport(deltas: Deltas, report: DeliveryReportDoc): void {
  add(deltas.for(report.journeyId, report.version, report.at), `delivery.${fieldKey(report.stepId)}.${report.kind}`, 1);
}

function foldConversion(deltas: Deltas, conversion: ConversionDoc, options: RollupOptions, creditHolders: ReadonlySet<string>): void {
  const delta = deltas.for(conversion.journeyId, conversion.version, conversion.event.timestamp);
  const goal = `goals.${fieldKey(conversion.goal)}`;
  const revenue = revenueOf(JSON.parse(conversion.event.properties) as Record<string, unknown>);
  const convertedAt = Date.parse(conversion.event.timestamp);
  add(delta, `${goal}.conversions`, 1);
  add(delta, `${goal}.revenue`, revenue);
  // The steps include this goal's own record: one means the instance's first time.
  const first = conversion.steps.filter((s) => s.stepId === `goal:${conversion.goal}`).length <= 1;
  if (first) {
    add(delta, `${goal}.converters`, 1);
    const enteredAt = Date.parse(conversion.enteredAt ?? conversion.steps[0]?.at ?? conversion.event.timestamp);
    (delta.push[`${goal}.secondsToConvert`] ??= []).push(Math.max(0, (convertedAt - enteredAt) / 1000));
    for (const step of conversion.steps.filter((s) => s.outcome.startsWith('variant:'))) {
      add(delta, `${goal}.arms.${fieldKey(step.stepId)}.${fieldKey(step.outcome.slice('variant:'.length))}`, 1);
    }
  }
  // A goal event several journeys counted is credited to messages once, by the conversion holding the claim.
  if (!creditHolders.has(conversion._id)) return;
  add(delta, `${goal}.credited`, 1);
  const rule: TouchRule = { countAudiences: options.countAudiences ?? false };
  if (rule.countAudiences) add(delta, `${goal}.audiencesCounted`, 1);
  const inWindow = new Set(conversion.attributedTo);
  const touches: Array<Touch & { key: string }> = [
    ...conversion.steps
      .filter((s) => s.outcome === 'sent' && inWindow.has(s.stepId))
      .map((s) => ({ journeyId: conversion.journeyId, version: conversion.version, stepId: s.stepId, at: s.at })),
    ...(conversion.otherTouches ?? []),
  ]
    .filter((t) => isTouch(t, rule))
    .map((t) => ({ stepId: t.stepId, at: Date.parse(t.at), key: touchKey(t) }))
    .sort((a, b) => a.at - b.at);
  if (touches.length === 0) add(delta, `${goal}.unattributed`, 1);
  for (const model of ATTRIBUTION_MODELS) {
    creditWeights(model, touches, convertedAt, options.halfLifeMs).forEach((weight, i) => {
      const path = `${goal}.attribution.${model}.${touches[i]!.key}`;
      add(delta, `${path}.conversions`, weight);
      add(delta, `${path}.revenue`, weight * revenue);
    });
  }
}

interface Source<T extends { _id: string }> {
  name: string;
  collection: Collection<T>;
  /** The write-time field the source is read in order of. */
  order: 'insertedAt' | 'at';
  fold(deltas: Deltas, doc: T): void;
  /** Runs on each batch before it is folded (the same batch again, after a crash). */
  before?(docs: T[]): Promise<void>;
  /** Delete what has been folded (records kept for nothing else). */
  deleteFolded?: boolean;
}

const positionOf = (doc: Document, order: string) => `${(doc[order] as Date).toISOString()}|${doc._id as string}`;

function parsePosition(position: string): { at: Date; id: string } {
  const bar = position.indexOf('|');
  return { at: new Date(position.slice(0, bar)), id: position.slice(bar + 1) };
}

function after(order: string, position: string | undefined): Document {
  if (!position) return {};
  const { at, id } = parsePosition(position);
  return { $or: [{ [order]: { $gt: at } }, { [order]: at, _id: { $gt: id } }] };
}

function upTo(order: string, position: string): Document {
  const { at, id } = parsePosition(position);
  return { $or: [{ [order]: { $lt: at } }, { [order]: at, _id: { $lte: id } }] };
}

/** Folds one batch of a source; returns how many records it held (0: nothing new). */
async function foldBatch<T extends { _id: string }>(db: Database, source: Source<T>, options: RollupOptions, now: number): Promise<number> {
  const { rollups } = db.collections;
  const cursor = await readCursor(rollups, source.name);
  const sort = { [source.order]: 1, _id: 1 } as const;
  let pending = cursor.pending;
  let docs: T[];
  if (pending) {
    docs = (await source.collection.find({ $and: [after(source.order, cursor.done), upTo(source.order, pending)] } as Filter<T>).sort(sort).toArray()) as T[];
  } else {
    const ready = { [source.order]: { $lte: new Date(now - options.lagMs) } };
    docs = (await source.collection.find({ $and: [after(source.order, cursor.done), ready] } as Filter<T>).sort(sort).limit(options.batchSize).toArray()) as T[];
    if (docs.length === 0) return 0;
    pending = positionOf(docs[docs.length - 1]!, source.order);
    await writeCursor(rollups, source.name, { done: cursor.done, pending });
  }
  await source.before?.(docs);
  const deltas = new Deltas();
  for (const doc of docs) source.fold(deltas, doc);
  for (const delta of deltas.byDoc.values()) await applyDelta(rollups, source.name, pending, delta);
  await writeCursor(rollups, source.name, { done: pending });
  if (source.deleteFolded) await source.collection.deleteMany(upTo(source.order, pending) as Filter<T>);
  return docs.length;
}

/** Folds everything written up to `lagMs` ago; the schedule that runs it never overlaps itself. */
export async function foldIntoRollups(db: Database, options: RollupOptions): Promise<RollupReport> {
  const now = Date.now();
  const progress: Source<ProgressDoc> = { name: 'progress', collection: db.collections.progress, order: 'insertedAt', fold: foldProgress, deleteFolded: true };
  let creditHolders = new Set<string>();
  const conversions: Source<ConversionDoc> = {
    name: 'conversions',
    collection: db.collections.conversions,
    order: 'at',
    async before(docs) {
      creditHolders = await claimCredit(db.collections.creditClaims, docs.map((c) => ({ _id: c._id, userId: c.userId, messageId: c.event.messageId })));
    },
    fold: (deltas, doc) => foldConversion(deltas, doc, options, creditHolders),
  };
  const engagements: Source<EngagementDoc> = { name: 'engagements', collection: db.collections.engagements, order: 'insertedAt', fold: foldEngagement };
  const deliveryReports: Source<DeliveryReportDoc> = { name: 'delivery-reports', collection: db.collections.deliveryReports, order: 'insertedAt', fold: foldDeliveryReport };
  const report: RollupReport = { progressRecords: 0, conversions: 0, engagements: 0, deliveryReports: 0 };
  for (let n; (n = await foldBatch(db, progress, options, now)) > 0; ) report.progressRecords += n;
  for (let n; (n = await foldBatch(db, conversions, options, now)) > 0; ) report.conversions += n;
  for (let n; (n = await foldBatch(db, engagements, options, now)) > 0; ) report.engagements += n;
  for (let n; (n = await foldBatch(db, deliveryReports, options, now)) > 0; ) report.deliveryReports += n;
  return report;
}
