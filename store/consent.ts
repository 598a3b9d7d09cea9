/**
 * Consent as an append-only history (`consent_events`) with the current state on the profile, what
 * the policy decision reads: `traits.consent.<channel>` for a whole channel and
 * `traits.consent.categories.<category>.<channel>` for one marketing category (a subscription).
 * Every change, from identify calls or the admin API, is a new event with its source and evidence;
 * nothing is overwritten in the history.
 */
import type { Collection } from 'mongodb';
import type { ProfileDoc } from './profiles.js';
import { updateInCommands, upsertRacing } from './db.js';

export type ConsentChannel = 'email' | 'sms' | 'advertising';

const CONSENT_CHANNELS: readonly ConsentChannel[] = ['email', 'sms', 'advertising'];

/** Category names become field names in the profile, so they are kept to safe characters. */
export const CATEGORY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export type ChannelConsent = Partial<Record<ConsentChannel, boolean>>;

/** What a customer said, per channel and per category; absent means "never said". */
export interface Consent extends ChannelConsent {
  categories: Record<string, ChannelConsent>;
}

export interface ConsentChange {
  channel: ConsentChannel;
  /** Absent: the whole channel. */
  category?: string;
  granted: boolean;
}

export interface ConsentEventDoc extends ConsentChange {
  userId: string;
  source: string;
  evidence?: string;
  at: Date;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function channelFlags(value: unknown): ChannelConsent {
  if (!isRecord(value)) return {};
  return Object.fromEntries(CONSENT_CHANNELS.flatMap((c) => (typeof value[c] === 'boolean' ? [[c, value[c]]] : [])));
}

/** Consent as stored or sent in traits: { sms: true, categories: { promotions: { email: false } } }. */
export function consentOf(value: unknown): Consent {
  const categories = isRecord(value) && isRecord(value.categories) ? value.categories : {};
  return {
    ...channelFlags(value),
    categories: Object.fromEntries(Object.entries(categories).flatMap(([name, flags]) => (CATEGORY_PATTERN.test(name) ? [[name, channelFlags(flags)]] : []))),
  };
}

/** The consent changes an identify call's traits carry. */
export function consentIn(traits: Record<string, unknown>): ConsentChange[] {
  const { categories, ...channels } = consentOf(traits.consent);
  const changes = (flags: ChannelConsent, category?: string) =>
    Object.entries(flags).map(([channel, granted]) => ({ channel: channel as ConsentChannel, granted, ...(category ? { category } : {}) }));
  return [...changes(channels), ...Object.entries(categories).flatMap(([category, flags]) => changes(flags, category))];
}

export async function recordConsent(
  collections: { consentEvents: Collection<ConsentEventDoc>; profiles: Collection<ProfileDoc> },
  userId: string,
  changes: ConsentChange[],
  provenance: { source: string; evidence?: string },
): Promise<void> {
  if (changes.length === 0) return;
  const at = new Date();
  await collections.consentEvents.insertMany(changes.map((change) => ({ userId, ...change, at, ...provenance })));
  // One update per change: FerretDB refuses some $set documents that name several
  // paths under one parent ("would create a conflict") where MongoDB accepts them.
  const operations = changes.map(({ channel, category, granted }) => ({
    updateOne: {
      filter: { _id: userId },
      update: { $set: { [category ? `traits.consent.categories.${category}.${channel}` : `traits.consent.${channel}`]: granted, updatedAt: at } },
      upsert: true,
    },
  }));
  await upsertRacing(() => updateInCommands(collections.profiles, operations));
}

export async function consentHistory(consentEvents: Collection<ConsentEventDoc>, userId: string): Promise<ConsentEventDoc[]> {
  return consentEvents.find({ userId }).sort({ at: 1 }).toArray();
}
