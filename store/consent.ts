/**
 * Consent as an append-only history (`consent_events`) with the current state on the profile
 * (`traits.consent.<channel>`, what the policy decision reads). Every change, from identify calls or
 * the admin API, is a new event with its source and evidence; nothing is overwritten in the history.
 */
import type { Collection } from 'mongodb';
import type { ProfileDoc } from './profiles.js';

export type ConsentChannel = 'email' | 'sms' | 'advertising';

export interface ConsentEventDoc {
  userId: string;
  channel: ConsentChannel;
  granted: boolean;
  source: string;
  evidence?: string;
  at: Date;
}

const CHANNELS: readonly ConsentChannel[] = ['email', 'sms', 'advertising'];

/** The consent flags in an identify call's traits, e.g. { consent: { sms: true } }. */
export function consentIn(traits: Record<string, unknown>): Partial<Record<ConsentChannel, boolean>> {
  const consent = traits.consent;
  if (!consent || typeof consent !== 'object') return {};
  return Object.fromEntries(
    CHANNELS.flatMap((c) => (typeof (consent as Record<string, unknown>)[c] === 'boolean' ? [[c, (consent as Record<string, boolean>)[c]]] : [])),
  );
}

export async function recordConsent(
  collections: { consentEvents: Collection<ConsentEventDoc>; profiles: Collection<ProfileDoc> },
  userId: string,
  changes: Partial<Record<ConsentChannel, boolean>>,
  provenance: { source: string; evidence?: string },
): Promise<void> {
  const entries = Object.entries(changes) as Array<[ConsentChannel, boolean]>;
  if (entries.length === 0) return;
  const at = new Date();
  await collections.consentEvents.insertMany(entries.map(([channel, granted]) => ({ userId, channel, granted, at, ...provenance })));
  const current = Object.fromEntries(entries.map(([channel, granted]) => [`traits.consent.${channel}`, granted]));
  await collections.profiles.updateOne({ _id: userId }, { $set: { ...current, updatedAt: at } }, { upsert: true });
}

export async function consentHistory(consentEvents: Collection<ConsentEventDoc>, userId: string): Promise<ConsentEventDoc[]> {
  return consentEvents.find({ userId }).sort({ at: 1 }).toArray();
}
