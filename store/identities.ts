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

/** The link made for an earlier person id, if any. */
export async function resolveIdentity(identities: Collection<IdentityDoc>, personId: string): Promise<Link | undefined> {
  const doc = await identities.findOne({ _id: personId });
  return doc ? { userId: doc.userId, pending: doc.status === 'pending' } : undefined;
}

/** The earlier person ids folded into this user: their journeys still run under those ids. */
export async function earlierIdsOf(identities: Collection<IdentityDoc>, userId: string): Promise<string[]> {
  const docs = await identities.find({ userId }, { projection: { _id: 1 } }).toArray();
  return docs.map((d) => d._id);
}
