/**
 * The journey's other I/O: reading the profile for branches and time-of-day waits, profile-update
 * steps, conversions credited to the messages that preceded them, and the step records the funnels
 * count.
 */
import { insertNew, type Database, type OtherTouch } from '../store/db.js';
import { asOtherTouch, deliveredTouches } from './ledger-touches.js';
import { insertProgress } from '../store/journey-progress.js';
import { currentMemberships } from '../store/segment-memberships.js';
import { loadProfile, mergeTraits } from '../store/profiles.js';
import type { ConversionRecord, ProfileSnapshot, ProgressRecord } from '../workflows/sdk/types.js';

export interface JourneyActivities {
  /**
   * The customer's time zone and the traits named, no others: the result goes into the journey's
   * history, which should hold what the journey reads and no more (templates read the profile in
   * the delivery activity). Every trait when none are named: a read scheduled by an older build.
   */
  profileSnapshot(userId: string, traits?: readonly string[]): Promise<ProfileSnapshot>;
  /** Whether the customer is in each segment now (for `inSegment` in branches). */
  segmentMemberships(userId: string): Promise<Record<string, boolean>>;
  updateProfile(userId: string, set: Record<string, unknown>): Promise<void>;
  recordConversion(conversion: ConversionRecord): Promise<void>;
  recordProgress(records: ProgressRecord[]): Promise<void>;
}

/**
 * The customer's messages in the goal's window that the instance's own steps do not show, for
 * attribution: other journeys' messages, and the instance's own sends whose outcome had not reached
 * it yet. (A goal event that arrives just as a send finishes can be handled before the send's result
 * in the same workflow task: the ledger has the send, the steps do not.)
 */
async function touchesTheStepsLack(db: Database, conversion: ConversionRecord): Promise<OtherTouch[]> {
  const sent = await deliveredTouches(db.collections.ledger, conversion.userId, new Date(conversion.windowStart!), new Date(conversion.event.timestamp));
  const seen = new Set(conversion.steps.filter((s) => s.outcome === 'sent').map((s) => s.stepId));
  return sent
    .filter((touch) => touch.journeyId !== conversion.journeyId || (touch.workflowId === conversion.workflowId && !seen.has(touch.stepId)))
    .map(asOtherTouch);
}

export function createJourneyActivities(db: Database): JourneyActivities {
  return {
    async profileSnapshot(userId, traits) {
      const profile = await loadProfile(db.collections.profiles, userId);
      const all = profile?.traits ?? {};
      return { timezone: profile?.timezone, traits: traits ? Object.fromEntries(traits.filter((t) => t in all).map((t) => [t, all[t]])) : all };
    },
    segmentMemberships: (userId) => currentMemberships(db.collections.segmentMembers, userId),
    async updateProfile(userId, set) {
      await mergeTraits(db.collections.profiles, userId, set);
    },
    async recordConversion(conversion) {
      // Keyed by instance, goal and event, and written once: a retried activity finds it there and
      // leaves it, so its `at` (the order the rollup reads in) never moves.
      const _id = `${conversion.workflowId}/${conversion.goal}/${conversion.event.messageId}`;
      const event = { ...conversion.event, properties: JSON.stringify(conversion.event.properties) };
      const otherTouches = conversion.windowStart ? await touchesTheStepsLack(db, conversion) : [];
      await insertNew(db.collections.conversions, [{ ...conversion, _id, event, otherTouches, at: new Date() }]);
    },
    async recordProgress(records) {
      await insertProgress(db.collections.progress, records);
    },
  };
}
