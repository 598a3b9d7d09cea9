/**
 * The messages a customer was delivered in a goal's window, by the ledger: the touches a conversion
 * credits (a journey's goal, activities/journey-activities.ts; a broadcast's, broadcasts/conversions.ts).
 */
import type { OtherTouch } from '../store/db.js';
import type { LedgerDoc } from '../store/ledger.js';
import type { Collection } from 'mongodb';
import { latestJourneys } from '../workflows/journeys/index.js';

export type LedgerTouch = OtherTouch & { workflowId: string };

/**
 * Her sends that went out between `from` and `to`, oldest first. An entry from a build before
 * versions were recorded is taken as its journey's latest version (one of no journey in the build is left out).
 */
export async function deliveredTouches(ledger: Collection<LedgerDoc>, userId: string, from: Date, to: Date): Promise<LedgerTouch[]> {
  const sent = await ledger.find({ userId, delivered: true, at: { $gte: from, $lte: to } }).toArray();
  return sent
    .filter((entry) => entry.status === 'done')
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .flatMap((entry) => {
      const version = entry.version ?? latestJourneys().find((j) => j.id === entry.journeyId)?.version;
      return version === undefined ? [] : [{ journeyId: entry.journeyId, version, stepId: entry.stepId, workflowId: entry.workflowId, at: entry.at.toISOString() }];
    });
}

/** A touch as a conversion stores it: which send, not which run sent it. */
export const asOtherTouch = ({ workflowId: _workflowId, ...touch }: LedgerTouch): OtherTouch => touch;
