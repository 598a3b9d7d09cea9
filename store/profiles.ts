import type { Collection } from 'mongodb';

/** A customer as identify calls describe them; `_id` is the userId. */
export interface ProfileDoc {
  _id: string;
  traits: Record<string, unknown>;
  updatedAt: Date;
}

/** Consent the profile records, per channel; absent means "never said". */
export interface Consent {
  email?: boolean;
  sms?: boolean;
  advertising?: boolean;
}

export interface Profile {
  userId: string;
  email?: string;
  phone?: string;
  timezone?: string;
  consent: Consent;
  traits: Record<string, unknown>;
}

export async function mergeTraits(
  profiles: Collection<ProfileDoc>,
  userId: string,
  traits: Record<string, unknown>,
): Promise<void> {
  const set: Record<string, unknown> = { updatedAt: new Date() };
  for (const [key, value] of Object.entries(traits)) set[`traits.${key}`] = value;
  await profiles.updateOne({ _id: userId }, { $set: set }, { upsert: true });
}

export async function loadProfile(profiles: Collection<ProfileDoc>, userId: string): Promise<Profile | undefined> {
  const doc = await profiles.findOne({ _id: userId });
  if (!doc) return undefined;
  const { traits } = doc;
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  const consent = (traits.consent ?? {}) as Record<string, unknown>;
  const flag = (value: unknown) => (typeof value === 'boolean' ? value : undefined);
  return {
    userId,
    email: text(traits.email),
    phone: text(traits.phone),
    timezone: text(traits.timezone),
    consent: { email: flag(consent.email), sms: flag(consent.sms), advertising: flag(consent.advertising) },
    traits,
  };
}

/** Customers with this phone number (an inbound SMS names only the number). */
export async function userIdsByPhone(profiles: Collection<ProfileDoc>, phone: string): Promise<string[]> {
  const docs = await profiles.find({ 'traits.phone': phone }, { projection: { _id: 1 } }).toArray();
  return docs.map((d) => d._id);
}
