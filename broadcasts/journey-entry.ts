/**
 * A broadcast's recipients entering its journey: each through the router (the journey's entry
 * filter, re-entry rule and experiments hold as for any event), with an event whose messageId is the
 * recipient's key (broadcast, occurrence, customer), so a running instance takes it once. Membership
 * is checked again first: who left the segment since the audience was taken does not enter.
 *
 * A batch cut short (its worker died) is handed over again from its start with `startedSince`, the
 * batch's first attempt: a recipient whose run started since then is taken as entered, even if that
 * run has already ended, so nobody enters twice for one occurrence.
 */
import pMap from 'p-map';
import type { Database } from '../store/db.js';
import type { Router } from '../events/router.js';
import { isMember } from '../store/segment-memberships.js';
import { broadcastEvent } from '../workflows/sdk/broadcast-events.js';
import type { DeliveryOutcome, JourneyEvent } from '../workflows/sdk/types.js';
import { recipientSendKey } from './sdk/run.js';

export interface JourneyEntryBatch {
  /** The occurrence's workflow id. */
  run: string;
  broadcast: string;
  occurrence: string;
  journey: string;
  /** The segment version the audience came from. */
  segmentKey: string;
  /** The moment the recipients' group was due: their entry event's time, the same on every attempt. */
  at: string;
  attempt: number;
  userIds: string[];
}

const NOT_ENTERED = 'not entered: ';

export async function enterJourney(db: Database, router: Router, batch: JourneyEntryBatch, inParallel: number, startedSince?: Date): Promise<DeliveryOutcome[]> {
  return pMap(
    batch.userIds,
    async (userId): Promise<DeliveryOutcome> => {
      if (!(await isMember(db.collections.segmentMembers, batch.segmentKey, userId))) return { delivered: false, reason: 'not-in-segment' };
      const event: JourneyEvent = {
        messageId: recipientSendKey(batch.run, userId, batch.attempt),
        event: broadcastEvent(batch.broadcast),
        userId,
        timestamp: batch.at,
        properties: { broadcast: batch.broadcast, occurrence: batch.occurrence },
      };
      const outcome = (await router.route(event, [], startedSince))[batch.journey] ?? `${NOT_ENTERED}the journey does not enter on this broadcast`;
      // The router's words for why not ("its entry filter (where) did not hold", "re-entry cooldown of 90 days") are the count's reason.
      return outcome.startsWith(NOT_ENTERED) ? { delivered: false, reason: `not-entered:${outcome.slice(NOT_ENTERED.length)}` } : { delivered: true, reason: 'entered' };
    },
    { concurrency: inParallel },
  );
}
