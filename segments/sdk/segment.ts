/**
 * A segment as code: `defineSegment({ id, version, description, where })`. A published version never
 * changes (segments/definitions/versions.lock.json holds each one's fingerprint); a changed
 * definition is a new version beside it, computed from its own backfill on.
 */
import { z } from 'zod';
import { spanMs } from '../../workflows/sdk/local-time.js';
import { conditionSchema, isDate, isEvent, isTrait, leavesOf, type Condition } from './conditions.js';

export interface SegmentDefinition {
  id: string;
  version: number;
  description: string;
  where: Condition;
}

const definitionSchema = z
  .object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _'), version: z.number().int().positive(), description: z.string().min(1), where: conditionSchema })
  .strict();

/** Checks the definition's shape at load: an unknown field or a malformed span throws, naming it. */
export function defineSegment(definition: SegmentDefinition): SegmentDefinition {
  const parsed = definitionSchema.safeParse(definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`segment "${definition.id}" v${definition.version}: ${issue.path.join('.') || 'definition'}: ${issue.message}`);
  }
  return Object.freeze(definition);
}

export const segmentKey = (segment: Pick<SegmentDefinition, 'id' | 'version'>) => `${segment.id}@${segment.version}`;
/** The id and version a segment key names. */
export function parseSegmentKey(key: string): Pick<SegmentDefinition, 'id' | 'version'> {
  const at = key.lastIndexOf('@');
  return { id: key.slice(0, at), version: Number(key.slice(at + 1)) };
}

/** What a segment reads, so an event or a profile change re-evaluates only the segments it can change. */
export interface SegmentReads {
  /** Event name → the properties its conditions filter or aggregate on. */
  events: Map<string, Set<string>>;
  traits: Set<string>;
  segments: Set<string>;
  consent: boolean;
  suppression: boolean;
  /** Whether time alone can change it (windows, ages, relative dates). */
  timed: boolean;
}

export function readsOf(segment: SegmentDefinition): SegmentReads {
  const reads: SegmentReads = { events: new Map(), traits: new Set(), segments: new Set(), consent: false, suppression: false, timed: false };
  for (const leaf of leavesOf(segment.where)) {
    if (isEvent(leaf)) {
      const properties = reads.events.get(leaf.event) ?? new Set<string>();
      for (const property of Object.keys(leaf.where ?? {})) properties.add(property);
      if (leaf.sum) properties.add(leaf.sum.property);
      if (leaf.max) properties.add(leaf.max.property);
      reads.events.set(leaf.event, properties);
      // An occurrence leaves every window, the retention's at the latest.
      reads.timed = true;
    } else if (isTrait(leaf)) {
      reads.traits.add(leaf.trait.split('.')[0]!);
      if (leaf.olderThan || leaf.newerThan || leaf.withinNext) reads.timed = true;
    } else if (isDate(leaf)) {
      // The customer's time zone moves the occasion too.
      reads.traits.add(leaf.date.split('.')[0]!).add('timezone');
      reads.timed = true;
    } else if ('inSegment' in leaf) reads.segments.add(leaf.inSegment);
    else if ('consent' in leaf) {
      reads.consent = true;
      reads.traits.add('consent');
    } else reads.suppression = true;
  }
  return reads;
}

/**
 * The checks across definitions, at load: a segment read by another exists in the build, no segment
 * reads itself through others, no window is longer than the events are kept, no version is
 * defined twice. Returns the segments in evaluation order (each after those it reads).
 */
export function checkSegments(segments: readonly SegmentDefinition[], options: { eventRetentionMs: number }): SegmentDefinition[] {
  const byKey = new Map<string, SegmentDefinition>();
  for (const segment of segments) {
    if (byKey.has(segmentKey(segment))) throw new Error(`segment "${segment.id}" v${segment.version} is defined twice`);
    byKey.set(segmentKey(segment), segment);
    for (const leaf of leavesOf(segment.where)) {
      const spans = isEvent(leaf) ? [leaf.within, leaf.first?.olderThan, leaf.first?.newerThan, leaf.last?.olderThan, leaf.last?.newerThan] : [];
      for (const span of spans) {
        if (span && spanMs(span) > options.eventRetentionMs) {
          throw new Error(`segment "${segment.id}" v${segment.version}: ${span} is longer than events are kept (SEGMENT_EVENT_RETENTION)`);
        }
      }
    }
  }
  const ids = new Set(segments.map((s) => s.id));
  const order: SegmentDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (segment: SegmentDefinition, path: string[]) => {
    const key = segmentKey(segment);
    if (state.get(key) === 'done') return;
    if (state.get(key) === 'visiting') throw new Error(`segments read each other in a cycle: ${[...path, segment.id].join(' → ')}`);
    state.set(key, 'visiting');
    for (const id of readsOf(segment).segments) {
      if (!ids.has(id)) throw new Error(`segment "${segment.id}" v${segment.version} reads segment "${id}", which is not in the build`);
      visit(latestOf(segments, id), [...path, segment.id]);
    }
    state.set(key, 'done');
    order.push(segment);
  };
  for (const segment of segments) visit(segment, []);
  return order;
}

/** The version of a segment that others read, and new journeys enter on: the highest in the build. */
export function latestOf(segments: readonly SegmentDefinition[], id: string): SegmentDefinition {
  return segments.filter((s) => s.id === id).reduce((a, b) => (b.version > a.version ? b : a));
}
