/**
 * Segments computed incrementally: an event, an identify or a due instant updates one customer, and
 * re-evaluates only the segments that read what changed (and those that read them). Races between
 * servers are settled without a lock (FerretDB has none): facts are insert-only, and a membership
 * change is taken by inserting its number (store/segment-memberships.ts). Each pass reads the state,
 * then the facts, so whichever writer reads last sees every fact inserted before it; a writer that
 * changed something evaluates again, and stops only when the stored state agrees with a fresh
 * evaluation. Every pass notes the next instant at which time alone could change an answer. A
 * change a journey acts on is handed to it through an outbox (change-dispatch.ts); a backfill's
 * changes are not: they say what a customer already was, not that something just happened. But a
 * backfill that reaches a customer between a message's write and its writer's evaluation takes the
 * change that message made, and the writer then finds nothing to change: so a writer that finds its
 * answer already stored by a backfill change taken since its message arrived adopts that change and
 * hands it over as its own.
 */
import type { Database } from '../store/db.js';
import { factsOf, moveFacts, recordFacts, type NewFact } from '../store/segment-facts.js';
import { adoptBackfillChange, changeId, latestChange, membershipsOf, projectChange, takeChange, type MembershipChange, type SegmentMemberDoc } from '../store/segment-memberships.js';
import { noteDue } from '../store/segment-dues.js';
import { isActive, suppressionHistory } from '../store/suppressions.js';
import { evaluate, type Fact } from './sdk/evaluate.js';
import { handOver, type ChangeListener } from './change-dispatch.js';
import { checkSegments, latestOf, readsOf, segmentKey, type SegmentDefinition, type SegmentReads } from './sdk/segment.js';

/** Passes before giving up on a customer whose state keeps moving under us (another writer's). */
const MAX_PASSES = 8;

export interface SegmentEngine {
  readonly segments: readonly SegmentDefinition[];
  /**
   * An event for `userId`: kept if a segment reads it, then the segments reading it re-evaluated.
   * `receivedAt`: when the message arrived, so a backfill change taken since is taken as its doing.
   */
  recordEvent(userId: string, event: NewFact, cause: string, receivedAt?: Date): Promise<void>;
  /** Traits (or consent) changed: the segments reading them re-evaluated. */
  traitsChanged(userId: string, traits: string[], cause: string, receivedAt?: Date): Promise<void>;
  suppressionChanged(userId: string, cause: string): Promise<void>;
  /** An anonymous visitor is now `intoId`: their occurrences count for the customer. */
  merged(fromId: string, intoId: string): Promise<void>;
  /** Re-evaluates the segments time can change (the clock), or all of them (a backfill). */
  refresh(userId: string, cause: 'time' | 'backfill', only?: readonly SegmentDefinition[]): Promise<void>;
}

export interface SegmentEngineOptions {
  segments: readonly SegmentDefinition[];
  eventRetentionMs: number;
  /** The clock, for tests that move time. */
  now?: () => number;
  /** Who acts on membership changes (the journeys' router); without one, changes are only recorded. */
  listener?: ChangeListener;
}

export function createSegmentEngine(db: Database, options: SegmentEngineOptions): SegmentEngine {
  const { segmentFacts, segmentMembers, segmentChanges, segmentDues, suppressions, profiles } = db.collections;
  const now = options.now ?? Date.now;
  const order = checkSegments(options.segments, { eventRetentionMs: options.eventRetentionMs });
  const reads = new Map<SegmentDefinition, SegmentReads>(order.map((s) => [s, readsOf(s)]));
  // Derived once, so an event finds its segments in a map look-up.
  const readingEvent = new Map<string, SegmentDefinition[]>();
  const readingTrait = new Map<string, SegmentDefinition[]>();
  for (const [segment, r] of reads) {
    for (const event of r.events.keys()) readingEvent.set(event, [...(readingEvent.get(event) ?? []), segment]);
    for (const trait of r.traits) readingTrait.set(trait, [...(readingTrait.get(trait) ?? []), segment]);
  }
  const propertiesRead = new Map([...readingEvent.keys()].map((event) => [event, new Set(order.flatMap((s) => [...(reads.get(s)!.events.get(event) ?? [])]))]));
  const timed = order.filter((s) => reads.get(s)!.timed);
  const readingSuppression = order.filter((s) => reads.get(s)!.suppression);
  // Journeys act on a segment's latest version only: a customer is in each version of it.
  const latestKeys = new Set(order.map((s) => segmentKey(latestOf(order, s.id))));
  const { listener } = options;
  const heard = (segment: SegmentDefinition, change: MembershipChange, cause: string) =>
    !!listener && cause !== 'backfill' && latestKeys.has(segmentKey(segment)) && listener.hearsChange(segment.id, change);

  /** The segments given, and every segment that reads one of them, in evaluation order. */
  function withDependents(changed: Iterable<SegmentDefinition>): SegmentDefinition[] {
    const set = new Set(changed);
    for (const segment of order) if ([...reads.get(segment)!.segments].some((id) => [...set].some((s) => s.id === id))) set.add(segment);
    return order.filter((s) => set.has(s));
  }

  /** Hands over, as this message's doing, a backfill change `state` shows, if one was taken since the message arrived. */
  async function adoptIfBackfilled(segment: SegmentDefinition, state: SegmentMemberDoc, cause: string): Promise<void> {
    if (!heard(segment, state.member ? 'joined' : 'left', cause)) return;
    const adopted = await adoptBackfillChange(segmentChanges, changeId(state.segment, state.userId, state.n), cause);
    if (adopted) await handOver(segmentChanges, listener!, adopted);
  }

  async function update(userId: string, affected: readonly SegmentDefinition[], cause: string, receivedAt?: Date): Promise<void> {
    if (!affected.length) return;
    // States looked at for adoption (or taken by this writer itself), so each is read once.
    const seen = new Set<string>();
    const segments = withDependents(affected);
    const needsFacts = segments.some((s) => reads.get(s)!.events.size);
    const needsSuppressions = segments.some((s) => reads.get(s)!.suppression);
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      // The state first, then what it is computed from: see the module comment.
      const states = new Map((await membershipsOf(segmentMembers, userId)).map((m) => [m.segment, m]));
      const [profile, facts, held] = await Promise.all([
        profiles.findOne({ _id: userId }),
        needsFacts ? factsOf(segmentFacts, userId) : Promise.resolve([]),
        needsSuppressions ? suppressionHistory(suppressions, userId) : Promise.resolve([]),
      ]);
      const at = now();
      const state = {
        traits: profile?.traits ?? {},
        facts: facts.map((f): Fact => ({ event: f.event, at: f.at.getTime(), properties: f.properties })),
        suppressions: held.filter((s) => isActive(s, new Date(at))).map((s) => ({ channel: s.channel, expiresAt: s.expiresAt?.getTime() })),
        inSegment: (id: string) => states.get(segmentKey(latestOf(options.segments, id)))?.member ?? false,
      };
      let moved = false;
      let nextAt: number | undefined;
      for (const segment of segments) {
        const key = segmentKey(segment);
        const verdict = evaluate(segment.where, state, at, options.eventRetentionMs);
        if (verdict.nextAt !== undefined) nextAt = Math.min(nextAt ?? Infinity, verdict.nextAt);
        const current = states.get(key);
        if (verdict.member === (current?.member ?? false)) {
          if (receivedAt && current && current.since >= receivedAt && !seen.has(`${key}|${current.n}`)) {
            seen.add(`${key}|${current.n}`);
            await adoptIfBackfilled(segment, current, cause);
          }
          continue;
        }
        moved = true;
        const kind: MembershipChange = verdict.member ? 'joined' : 'left';
        const change = {
          segment: key,
          userId,
          n: (current?.n ?? 0) + 1,
          change: kind,
          at: new Date(at),
          decidedBy: verdict.decidedBy,
          cause,
          ...(heard(segment, kind, cause) ? { dispatch: 'pending' as const } : {}),
        };
        // Lost the number to another writer: take the state from the latest change, and look again.
        const ours = await takeChange(segmentChanges, change);
        if (ours) seen.add(`${key}|${ours.n}`);
        const taken = ours ?? (await latestChange(segmentChanges, key, userId))!;
        await projectChange(segmentMembers, taken);
        states.set(key, { _id: '', segment: key, userId, member: taken.change === 'joined', n: taken.n, since: taken.at, decidedBy: taken.decidedBy });
        // Handed over once the state shows it, so a journey's entry filter reading the segment agrees.
        if (ours?.dispatch) await handOver(segmentChanges, listener!, ours);
      }
      // Noted once settled: a pass that moved is followed by one that may find another instant.
      if (!moved) {
        if (nextAt !== undefined) await noteDue(segmentDues, userId, new Date(nextAt));
        return;
      }
    }
    throw new Error(`segment memberships of one customer kept changing over ${MAX_PASSES} passes`);
  }

  return {
    segments: order,
    async recordEvent(userId, event, cause, receivedAt) {
      const segments = readingEvent.get(event.event);
      if (!segments) return;
      const read = propertiesRead.get(event.event)!;
      const properties = Object.fromEntries(Object.entries(event.properties).filter(([key]) => read.has(key)));
      await recordFacts(segmentFacts, userId, [{ ...event, properties }]);
      await update(userId, segments, cause, receivedAt);
    },
    async traitsChanged(userId, traits, cause, receivedAt) {
      const segments = new Set(traits.flatMap((trait) => readingTrait.get(trait.split('.')[0]!) ?? []));
      await update(userId, order.filter((s) => segments.has(s)), cause, receivedAt);
    },
    suppressionChanged: (userId, cause) => update(userId, readingSuppression, cause),
    async merged(fromId, intoId) {
      await moveFacts(segmentFacts, fromId, intoId);
      await update(intoId, order, `merged ${fromId}`);
    },
    refresh: (userId, cause, only) => update(userId, only ?? (cause === 'time' ? timed : order), cause),
  };
}
