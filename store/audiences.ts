/**
 * Retargeting audiences as desired state. Journeys set membership (`audience_members`, written only
 * by the delivery path); a sync sends what changed to each audience provider in batches and records
 * what each provider was last told (`audience_syncs`, written only by the sync, which one scheduled
 * workflow runs at a time). Two collections with one writer each: no read-modify-write can lose an
 * update on FerretDB. Identifiers are stored hashed, as they will leave the process.
 */
import type { Collection } from 'mongodb';
import { updateInCommands } from './db.js';

export interface AudienceMemberDoc {
  _id: string;
  audience: string;
  userId: string;
  member: boolean;
  emailSha256?: string;
  phoneSha256?: string;
  changedAt: Date;
}

export interface AudienceSyncDoc {
  /** `<provider>/<audience>/<userId>`, or `<provider>/watermark` for where the last sync got to. */
  _id: string;
  member?: boolean;
  changedAt: Date;
  syncedAt: Date;
}

const memberId = (audience: string, userId: string) => `${audience}/${userId}`;

export async function setMembership(members: Collection<AudienceMemberDoc>, doc: Omit<AudienceMemberDoc, '_id' | 'changedAt'>): Promise<void> {
  await members.updateOne({ _id: memberId(doc.audience, doc.userId) }, { $set: { ...doc, changedAt: new Date() } }, { upsert: true });
}

export interface PendingChanges {
  /** Changes this provider has not been told about, oldest first. */
  changes: AudienceMemberDoc[];
  /** The newest change looked at: the watermark once these are synced. */
  through?: Date;
  /** The look-up hit its limit: there may be more. */
  more: boolean;
}

/** From the provider's watermark on, the membership changes it has not been told about yet. */
export async function pendingChanges(
  members: Collection<AudienceMemberDoc>,
  syncs: Collection<AudienceSyncDoc>,
  provider: string,
  limit: number,
): Promise<PendingChanges> {
  const watermark = (await syncs.findOne({ _id: `${provider}/watermark` }))?.changedAt ?? new Date(0);
  const candidates = await members.find({ changedAt: { $gte: watermark } }).sort({ changedAt: 1, _id: 1 }).limit(limit).toArray();
  if (!candidates.length) return { changes: [], more: false };
  const told = new Map(
    (await syncs.find({ _id: { $in: candidates.map((c) => `${provider}/${c._id}`) } }).toArray()).map((d) => [d._id, d.changedAt.getTime()]),
  );
  return {
    changes: candidates.filter((c) => (told.get(`${provider}/${c._id}`) ?? -1) < c.changedAt.getTime()),
    through: candidates.at(-1)!.changedAt,
    more: candidates.length === limit,
  };
}

/** Records what the provider was told, and moves its watermark to `through`. */
export async function recordSynced(syncs: Collection<AudienceSyncDoc>, provider: string, { changes, through }: PendingChanges): Promise<void> {
  if (!through) return;
  const syncedAt = new Date();
  await updateInCommands(syncs, [
    ...changes.map((c) => ({
      replaceOne: { filter: { _id: `${provider}/${c._id}` }, replacement: { member: c.member, changedAt: c.changedAt, syncedAt }, upsert: true },
    })),
    { replaceOne: { filter: { _id: `${provider}/watermark` }, replacement: { changedAt: through, syncedAt }, upsert: true } },
  ]);
}
