import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { consentOf, type Consent } from './consent.js';
import { updateInCommands, upsertRacing } from './db.js';
import { fieldKey } from './field-rules.js';

/**
 * A customer as identify calls describe them; `_id` is the userId (or `anonymous:<id>` before they
 * are known). `traitTimes` holds when each trait was last set, by the event's own timestamp, so a
 * late or replayed event cannot overwrite a newer value (last write wins by event time).
 */
export interface ProfileDoc {
  _id: string;
  traits: Record<string, unknown>;
  traitTimes?: Record<string, Date>;
  updatedAt: Date;
}

export interface Profile {
  userId: string;
  email?: string;
  phone?: string;
  timezone?: string;
  consent: Consent;
  traits: Record<string, unknown>;
}

export interface TraitWrite {
  key: string;
  value: unknown;
  at: Date;
}

/**
 * Sets each trait unless the profile holds a value from a later event. One conditional update per
 * trait, in one round trip: on MongoDB each is atomic, so racing identify calls still end on the
 * newest value. (FerretDB applies them as read-modify-write, see store/db.ts.)
 */
export async function writeTraits(profiles: Collection<ProfileDoc>, userId: string, writes: TraitWrite[]): Promise<void> {
  const now = new Date();
  const operations: AnyBulkWriteOperation<ProfileDoc>[] = [
    { updateOne: { filter: { _id: userId }, update: { $setOnInsert: { traits: {}, traitTimes: {}, updatedAt: now } }, upsert: true } },
    ...writes.map(({ key, value, at }) => ({
      updateOne: {
        filter: { _id: userId, $or: [{ [`traitTimes.${key}`]: { $exists: false } }, { [`traitTimes.${key}`]: { $lte: at } }] },
        update: { $set: { [`traits.${key}`]: value, [`traitTimes.${key}`]: at, updatedAt: now } },
      },
    })),
  ];
  await upsertRacing(() => updateInCommands(profiles, operations));
}

/**
 * Where a group's traits live on a member's profile: `groups.<groupId>`, with '%' and the characters
 * MongoDB reads as path syntax ('.', '$') percent-encoded, so `acme.com` stays one key.
 */
export function groupTraitKey(groupId: string): string {
  return `groups.${fieldKey(groupId)}`;
}

/** All traits of one event, stamped with the event's time (now, for changes a journey makes). */
export async function mergeTraits(
  profiles: Collection<ProfileDoc>,
  userId: string,
  traits: Record<string, unknown>,
  at: Date = new Date(),
): Promise<void> {
  await writeTraits(profiles, userId, Object.entries(traits).map(([key, value]) => ({ key, value, at })));
}

/**
 * Folds one profile into another (an anonymous visitor who turned out to be a known customer),
 * trait by trait with each trait's own time, so the newer value wins whichever profile it is on.
 */
export async function foldProfile(profiles: Collection<ProfileDoc>, fromId: string, intoId: string): Promise<void> {
  const from = await profiles.findOne({ _id: fromId });
  if (!from) return;
  const writes = Object.entries(from.traits).map(([key, value]) => ({ key, value, at: from.traitTimes?.[key] ?? from.updatedAt }));
  if (writes.length) await writeTraits(profiles, intoId, writes);
}

export async function loadProfile(profiles: Collection<ProfileDoc>, userId: string): Promise<Profile | undefined> {
  const doc = await profiles.findOne({ _id: userId });
  if (!doc) return undefined;
  const { traits } = doc;
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  return {
    userId,
    email: text(traits.email),
    phone: text(traits.phone),
    timezone: text(traits.timezone),
    consent: consentOf(traits.consent),
    traits,
  };
}

/** Customers with this phone number (an inbound SMS names only the number). */
export async function userIdsByPhone(profiles: Collection<ProfileDoc>, phone: string): Promise<string[]> {
  const docs = await profiles.find({ 'traits.phone': phone }, { projection: { _id: 1 } }).toArray();
  return docs.map((d) => d._id);
}
