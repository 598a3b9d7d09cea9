/**
 * Segment memberships: every change as an insert-only record numbered per (segment version,
 * customer), and the current state as a projection of the latest. The change number is the lock
 * FerretDB does not have: a change is taken by inserting number n+1, which only one writer can do;
 * the loser reads the latest and evaluates again (segments/engine.ts). A change's `_id` is stable
 * (segment, version, customer, number), so a journey or broadcast acting on it does so once.
 */
import type { Collection } from 'mongodb';
import { insertNew, isDuplicateKey, upsertRacing } from './db.js';
import { parseSegmentKey } from '../segments/sdk/segment.js';

/** The current state, `_id` `<segment@version>|<userId>`. */
export interface SegmentMemberDoc {
  _id: string;
  segment: string;
  userId: string;
  member: boolean;
  /** The number of the change this state comes from. */
  n: number;
  since: Date;
  decidedBy: string;
}

export type MembershipChange = 'joined' | 'left';

export interface SegmentChangeDoc {
  /** `<segment@version>|<userId>|<n>` */
  _id: string;
  segment: string;
  /** `<segment@version>|<userId>`, the current state's id. */
  memberId: string;
  userId: string;
  n: number;
  change: MembershipChange;
  at: Date;
  /** UTC day, for the joins and leaves per day. */
  day: string;
  decidedBy: string;
  /** What made the engine look: `event <source>:<messageId>`, `identify …`, `time`, `backfill`. */
  cause: string;
  /**
   * An outbox mark, on a change some journey acts on until it has been handed to them: taken with
   * the change, in the same insert, so a writer that dies between the two leaves it for the
   * recovery schedule (segments/change-dispatch.ts), never lost.
   */
  dispatch?: 'pending';
  /** Once handed over: what it did in each journey acting on it (entered, or why not), by journey id. */
  journeys?: Record<string, string>;
}

type NewChange = Omit<SegmentChangeDoc, '_id' | 'memberId' | 'day'>;

export const memberId = (segment: string, userId: string) => `${segment}|${userId}`;
/** Change n of a customer's membership: the id journeys and broadcasts act on once. */
export const changeId = (segment: string, userId: string, n: number) => `${memberId(segment, userId)}|${n}`;

/** A customer's current states, one equality read. */
export async function membershipsOf(members: Collection<SegmentMemberDoc>, userId: string): Promise<SegmentMemberDoc[]> {
  return members.find({ userId }).toArray();
}

/** Whether the customer is in this segment version now: one read by id. */
export async function isMember(members: Collection<SegmentMemberDoc>, segment: string, userId: string): Promise<boolean> {
  return (await members.countDocuments({ _id: memberId(segment, userId), member: true })) > 0;
}

/**
 * Whether the customer is in each segment now, by segment id: the state of the highest version the
 * engine has computed for them (a new version's backfill may not have reached them yet).
 */
export async function currentMemberships(members: Collection<SegmentMemberDoc>, userId: string): Promise<Record<string, boolean>> {
  const latest = new Map<string, { version: number; member: boolean }>();
  for (const state of await membershipsOf(members, userId)) {
    const { id, version } = parseSegmentKey(state.segment);
    if ((latest.get(id)?.version ?? 0) < version) latest.set(id, { version, member: state.member });
  }
  return Object.fromEntries([...latest].map(([id, { member }]) => [id, member]));
}

/** Takes change n: the change as stored, or undefined if another writer took it first. */
export async function takeChange(changes: Collection<SegmentChangeDoc>, change: NewChange): Promise<SegmentChangeDoc | undefined> {
  const doc = { ...change, _id: changeId(change.segment, change.userId, change.n), memberId: memberId(change.segment, change.userId), day: change.at.toISOString().slice(0, 10) };
  const taken = await insertNew(changes, [doc]);
  return taken.size ? undefined : doc;
}

/**
 * The change has been handed to the journeys acting on it, with what it did in each. Only the hand-over
 * writes these fields again, and a second hand-over finds the same, so a read-modify-write loses nothing.
 */
export async function markDispatched(changes: Collection<SegmentChangeDoc>, id: string, journeys: Record<string, string>): Promise<void> {
  await changes.updateOne({ _id: id }, { $unset: { dispatch: '' }, $set: { journeys } });
}

/**
 * A backfill change that a message's writer finds was its message's doing (taken since the message
 * arrived): marked for hand-over, with the message as its cause, and returned; undefined when it is
 * no backfill change or has been handed over already. Two writers adopting it both hand it over,
 * which the journeys take once (the change id is the entry's messageId).
 */
export async function adoptBackfillChange(changes: Collection<SegmentChangeDoc>, id: string, cause: string): Promise<SegmentChangeDoc | undefined> {
  const change = await changes.findOne({ _id: id });
  if (change?.cause !== 'backfill' || change.journeys) return undefined;
  await changes.updateOne({ _id: id, cause: 'backfill' }, { $set: { cause, dispatch: 'pending' } });
  return { ...change, cause, dispatch: 'pending' };
}

/** Changes taken before `before` and never handed over: an equality read of the outbox marks (few: each is cleared within a second). */
export async function pendingChanges(changes: Collection<SegmentChangeDoc>, before: Date, limit: number): Promise<SegmentChangeDoc[]> {
  return changes.find({ dispatch: 'pending', at: { $lt: before } }).limit(limit).toArray();
}

export async function latestChange(changes: Collection<SegmentChangeDoc>, segment: string, userId: string): Promise<SegmentChangeDoc | undefined> {
  const all = await changes.find({ memberId: memberId(segment, userId) }).toArray();
  return all.reduce<SegmentChangeDoc | undefined>((latest, c) => (!latest || c.n > latest.n ? c : latest), undefined);
}

/** Projects a change onto the current state, unless the state already comes from a later one. */
export async function projectChange(members: Collection<SegmentMemberDoc>, change: NewChange): Promise<void> {
  const _id = memberId(change.segment, change.userId);
  const write = () =>
    members.updateOne(
      { _id, $or: [{ n: { $lt: change.n } }, { n: { $exists: false } }] },
      { $set: { segment: change.segment, userId: change.userId, member: change.change === 'joined', n: change.n, since: change.at, decidedBy: change.decidedBy } },
      { upsert: true },
    );
  try {
    await upsertRacing(write);
  } catch (err) {
    // Both tries found the state at a later change (the upsert then inserts, and collides): nothing to do.
    if (!isDuplicateKey(err)) throw err;
  }
}

export async function changesOf(changes: Collection<SegmentChangeDoc>, userId: string): Promise<SegmentChangeDoc[]> {
  return (await changes.find({ userId }).toArray()).sort((a, b) => a.at.getTime() - b.at.getTime() || a.n - b.n);
}

export async function memberCount(members: Collection<SegmentMemberDoc>, segment: string): Promise<number> {
  return members.countDocuments({ segment, member: true });
}

/** Joins and leaves on each of these UTC days. */
export async function changesPerDay(changes: Collection<SegmentChangeDoc>, segment: string, days: string[]) {
  return Promise.all(
    days.map(async (day) => {
      const [joined, left] = await Promise.all([changes.countDocuments({ segment, day, change: 'joined' }), changes.countDocuments({ segment, day, change: 'left' })]);
      return { day, joined, left };
    }),
  );
}

/** Members now: one customer by id, or the first `limit` found. */
export async function findMembers(members: Collection<SegmentMemberDoc>, segment: string, options: { userId?: string; limit: number }) {
  if (options.userId) return members.find({ _id: memberId(segment, options.userId), member: true }).toArray();
  return members.find({ segment, member: true }).limit(options.limit).toArray();
}
