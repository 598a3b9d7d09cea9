/**
 * The journey's other I/O: reading the profile for branches and time-of-day waits, profile-update
 * steps, conversions credited to the messages that preceded them, and the step records the funnels
 * count.
 */
import { insertNew, type Database } from '../store/db.js';
import { insertProgress } from '../store/journey-progress.js';
import { loadProfile, mergeTraits } from '../store/profiles.js';
import type { ConversionRecord, ProfileSnapshot, ProgressRecord } from '../workflows/sdk/types.js';

export interface JourneyActivities {
  profileSnapshot(userId: string): Promise<ProfileSnapshot>;
  updateProfile(userId: string, set: Record<string, unknown>): Promise<void>;
  recordConversion(conversion: ConversionRecord): Promise<void>;
  recordProgress(records: ProgressRecord[]): Promise<void>;
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
      // Keyed by instance, goal and event, and written once: a retried activity finds it there and
      // leaves it, so its `at` (the order the rollup reads in) never moves.
      const _id = `${conversion.workflowId}/${conversion.goal}/${conversion.event.messageId}`;
      const event = { ...conversion.event, properties: JSON.stringify(conversion.event.properties) };
      await insertNew(db.collections.conversions, [{ ...conversion, _id, event, at: new Date() }]);
    },
    async recordProgress(records) {
      await insertProgress(db.collections.progress, records);
    },
  };
}
