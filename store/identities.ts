/**
 * Identity links: an id a person was known by before (an anonymous visitor, or an earlier userId
 * given in an alias call) and the userId they turned out to be. `_id` is the earlier person id, so
 * resolving an anonymous event is one read by `_id`, and the link is made by a unique insert: the
 * first claim on an anonymous id wins, on MongoDB and FerretDB alike, however many calls race.
 * Like inbound events, a link is `pending` until its effects (profile fold, journeys told) are done,
 * so a merge that failed half way is completed when the CDP retries.
 */
import type { Collection } from 'mongodb';
import { isDuplicateKey } from './db.js';

export interface IdentityDoc {
  /** The earlier person id: `anonymous:<anonymousId>` or a userId. */
  _id: string;
  userId: string;
  status: 'pending' | 'merged';
  linkedAt: Date;
}

export interface Link {
  /** The known userId this person id belongs to (the first link made for it). */
  userId: string;
  /** The merge's effects are not known to be done: run them (they are idempotent). */
  pending: boolean;
}

export async function linkIdentity(identities: Collection<IdentityDoc>, personId: string, userId: string): Promise<Link> {
  try {
    await identities.insertOne({ _id: personId, userId, status: 'pending', linkedAt: new Date() });
    return { userId, pending: true };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const existing = await identities.findOne({ _id: personId });
    if (!existing) throw new Error(`identity link for ${personId} vanished`, { cause: err });
    return { userId: existing.userId, pending: existing.status === 'pending' };
  }
}

export async function markMerged(identities: Collection<IdentityDoc>, personId: string): Promise<void> {
  await identities.updateOne({ _id: personId }, { $set: { status: 'merged' } });
}

/**
 * What a batch of messages needs to know about identities, read in two queries for the whole batch:
 * the links of the anonymous persons it names, and the earlier ids of the users it names (their
 * journeys may still run under those ids). Merges made while the batch is ingested are recorded in it.
 */
export interface IdentityView {
  resolve(personId: string): Link | undefined;
  earlierIds(userId: string): string[];
  linked(personId: string, link: Link): void;
}

export async function loadIdentityView(identities: Collection<IdentityDoc>, personIds: string[], userIds: string[]): Promise<IdentityView> {
  const [links, earlier] = await Promise.all([
    personIds.length ? identities.find({ _id: { $in: personIds } }).toArray() : [],
    userIds.length ? identities.find({ userId: { $in: userIds } }).toArray() : [],
  ]);
  const byPerson = new Map(links.map((d) => [d._id, { userId: d.userId, pending: d.status === 'pending' }]));
  const byUser = new Map<string, string[]>();
  const addEarlier = (userId: string, personId: string) => {
    const ids = byUser.get(userId) ?? [];
    if (!ids.includes(personId)) byUser.set(userId, [...ids, personId]);
  };
  for (const doc of earlier) addEarlier(doc.userId, doc._id);
  return {
    resolve: (personId) => byPerson.get(personId),
    earlierIds: (userId) => byUser.get(userId) ?? [],
    linked(personId, link) {
      byPerson.set(personId, link);
      addEarlier(link.userId, personId);
    },
  };
}
