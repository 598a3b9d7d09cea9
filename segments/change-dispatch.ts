/**
 * Membership changes handed to the journeys that act on them, through an outbox: a change some
 * journey hears is taken with a `dispatch: 'pending'` mark (store/segment-memberships.ts), handed
 * over at once by the writer that took it, and the mark cleared after. A writer that dies or loses
 * Temporal in between leaves the mark, and the recovery schedule hands the change over again: the
 * journeys take it once (its id is the event's messageId, and a run started since the change is
 * taken as its own), so handing it over twice is safe and never handing it over cannot happen.
 */
import type { Collection } from 'mongodb';
import pMap from 'p-map';
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
/** Customers whose changes are handed over at once: the ingestion path's own parallelism per batch. */
const CUSTOMERS_IN_PARALLEL = 32;

export async function handOver(changes: Collection<SegmentChangeDoc>, listener: ChangeListener, change: SegmentChangeDoc, recovering = false): Promise<void> {
  const journeys = await listener.routeChange(change, recovering ? change.at : undefined);
  await markDispatched(changes, change._id, journeys);
}

/**
 * For the recovery schedule: hands over the changes still marked pending that were taken before
 * `before`. Customers in parallel; each customer's in the order taken, and none after one that
 * failed (a leave handed over before its join would let the join start a journey she has left):
 * those wait, still marked, for the next run.
 */
export async function handOverPendingChanges(db: Database, listener: ChangeListener, before: Date, progress: (tried: number) => void = () => {}) {
  const pending = await pendingChanges(db.collections.segmentChanges, before, RECOVERED_PER_RUN);
  const byCustomer = new Map<string, SegmentChangeDoc[]>();
  for (const change of pending) byCustomer.set(change.userId, [...(byCustomer.get(change.userId) ?? []), change]);
  const failed: { change: string; error: string }[] = [];
  let tried = 0;
  let finished = 0;
  await pMap(
    [...byCustomer.values()].map((changes) => changes.sort((a, b) => a.at.getTime() - b.at.getTime() || a.n - b.n)),
    async (changes) => {
      for (const change of changes) {
        progress(tried++);
        try {
          await handOver(db.collections.segmentChanges, listener, change, true);
          finished++;
        } catch (err) {
          failed.push({ change: change._id, error: (err as Error).message });
          return;
        }
      }
    },
    { concurrency: CUSTOMERS_IN_PARALLEL },
  );
  return { finished, failed };
}
