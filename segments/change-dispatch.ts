/**
 * Membership changes handed to the journeys that act on them, through an outbox: a change some
 * journey hears is taken with a `dispatch: 'pending'` mark (store/segment-memberships.ts), handed
 * over at once by the writer that took it, and the mark cleared after. A writer that dies or loses
 * Temporal in between leaves the mark, and the recovery schedule hands the change over again: the
 * journeys take it once (its id is the event's messageId, and a run started since the change is
 * taken as its own), so handing it over twice is safe and never handing it over cannot happen.
 */
import type { Collection } from 'mongodb';
import type { Database } from '../store/db.js';
import { markDispatched, pendingChanges, type MembershipChange, type SegmentChangeDoc } from '../store/segment-memberships.js';

/** Who acts on membership changes: the router (events/router.ts), for the journeys entered or ended by them. */
export interface ChangeListener {
  /** Whether anything acts on a change of this segment this way: only such changes are marked and handed over. */
  hearsChange(segmentId: string, change: MembershipChange): boolean;
  /**
   * Acts on the change; `startedSince`: handed over late, so a journey run started since then is its
   * own. Says what it did in each journey (entered, or why not), for `explain`.
   */
  routeChange(change: SegmentChangeDoc, startedSince?: Date): Promise<Record<string, string>>;
}

/** Changes recovered per run at most; the rest wait for the next run (every INBOUND_RECOVERY_INTERVAL). */
const RECOVERED_PER_RUN = 1_000;

export async function handOver(changes: Collection<SegmentChangeDoc>, listener: ChangeListener, change: SegmentChangeDoc, recovering = false): Promise<void> {
  const journeys = await listener.routeChange(change, recovering ? change.at : undefined);
  await markDispatched(changes, change._id, journeys);
}

/** For the recovery schedule: hands over the changes still marked pending that were taken before `before`. */
export async function handOverPendingChanges(db: Database, listener: ChangeListener, before: Date, progress: (tried: number) => void = () => {}) {
  const pending = await pendingChanges(db.collections.segmentChanges, before, RECOVERED_PER_RUN);
  const failed: { change: string; error: string }[] = [];
  for (const [tried, change] of pending.entries()) {
    progress(tried);
    try {
      await handOver(db.collections.segmentChanges, listener, change, true);
    } catch (err) {
      failed.push({ change: change._id, error: (err as Error).message });
    }
  }
  return { finished: pending.length - failed.length, failed };
}
