/**
 * The journey's other I/O: reading the profile for branches and time-of-day waits, profile-update
 * steps, and conversions credited to the messages that preceded them.
 */
import type { Database } from '../store/db.js';
import { loadProfile, mergeTraits } from '../store/profiles.js';
import type { ConversionRecord, ProfileSnapshot } from '../workflows/sdk/types.js';

export interface JourneyActivities {
  profileSnapshot(userId: string): Promise<ProfileSnapshot>;
  updateProfile(userId: string, set: Record<string, unknown>): Promise<void>;
  recordConversion(conversion: ConversionRecord): Promise<void>;
}

export function createJourneyActivities(db: Database): JourneyActivities {
  return {
    async profileSnapshot(userId) {
      const profile = await loadProfile(db.collections.profiles, userId);
      return { timezone: profile?.timezone, traits: profile?.traits ?? {} };
    },
    async updateProfile(userId, set) {
      await mergeTraits(db.collections.profiles, userId, set);
    },
    async recordConversion(conversion) {
      // Keyed by instance, goal and event: a retried activity writes the same document again.
      const _id = `${conversion.workflowId}/${conversion.goal}/${conversion.event.messageId}`;
      const event = { ...conversion.event, properties: JSON.stringify(conversion.event.properties) };
      await db.collections.conversions.replaceOne({ _id }, { ...conversion, event, at: new Date() }, { upsert: true });
    },
  };
}
