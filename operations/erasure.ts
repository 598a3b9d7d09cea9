/**
 * A customer's erasure (the right to be forgotten), everywhere her data is:
 * - Temporal: her running journeys are terminated, and her data key is destroyed, so every payload
 *   of her journeys, in any history, replay fixture or backup, can no longer be read;
 * - the store: her profile, identities, event facts, segment memberships, consent records and
 *   engagement are deleted, and her ledger entries keep what reports count but lose the request and
 *   the provider's words, which may hold her address, and her conversions keep the goal reached but
 *   lose the goal event's properties.
 * What stays is an `erasure` suppression under her id, which holds every message, transactional ones
 * too, and is how `explain` and the console know she was erased.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Database } from '../store/db.js';
import { destroyCustomerKeys } from '../store/customer-keys.js';
import { addSuppression, isActive, suppressionHistory } from '../store/suppressions.js';
import { USER_ID } from '../workflows/sdk/search-attributes.js';

export interface ErasureReport {
  /** The ids she went by: her userId and the earlier (anonymous) ids linked to it. */
  ids: string[];
  journeysEnded: number;
  keysDestroyed: number;
  /** Documents deleted, by collection. */
  deleted: Record<string, number>;
}

export const ERASED_REASON = 'customer erased';

/** Every id the person `userId` belongs to went by. */
async function idsOf(db: Database, userId: string): Promise<string[]> {
  const { identities } = db.collections;
  const person = (await identities.findOne({ _id: userId }))?.userId ?? userId;
  const earlier = await identities.find({ userId: person }).toArray();
  return [...new Set([person, userId, ...earlier.map((e) => e._id)])];
}

async function endJourneys(temporal: Client, id: string): Promise<number> {
  let ended = 0;
  const escaped = id.replaceAll('"', '\\"');
  for await (const run of temporal.workflow.list({ query: `${USER_ID.name} = "${escaped}" AND ExecutionStatus = "Running"` })) {
    try {
      await temporal.workflow.getHandle(run.workflowId, run.runId).terminate(ERASED_REASON);
      ended += 1;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err; // it ended meanwhile
    }
  }
  return ended;
}

/**
 * Erases the customer. Safe to run again (a run cut short is finished by the next): each step finds
 * what is left. The suppression comes first, so nothing is sent while the rest is done.
 */
export async function eraseCustomer(deps: { db: Database; temporal: Client }, userId: string, source: string): Promise<ErasureReport> {
  const { collections } = deps.db;
  const ids = await idsOf(deps.db, userId);
  // Evidence of earlier suppressions may quote her address (a bounce, an inbound STOP).
  for (const id of ids) await collections.suppressions.updateMany({ kind: 'suppression', userId: id }, { $unset: { evidence: '' } });
  for (const id of ids) {
    // Run again, the erasure finds its own suppression and records no second one.
    const erased = (await suppressionHistory(collections.suppressions, id)).some((s) => s.reason === 'erasure' && isActive(s, new Date()));
    if (!erased) await addSuppression(collections.suppressions, { userId: id, channel: '*', reason: 'erasure', source });
  }
  let journeysEnded = 0;
  for (const id of ids) journeysEnded += await endJourneys(deps.temporal, id);
  // After the journeys ended: a running one would be stuck at its next task, unable to read itself.
  const keysDestroyed = await destroyCustomerKeys(collections.customerKeys, ids);
  const deleted: Record<string, number> = {};
  const count = async (name: string, run: Promise<{ deletedCount: number }>) => {
    deleted[name] = (deleted[name] ?? 0) + (await run).deletedCount;
  };
  // One id at a time and by equality: FerretDB answers $in with a full scan.
  for (const id of ids) {
    await Promise.all([
      count('profiles', collections.profiles.deleteOne({ _id: id })),
      count('identities', collections.identities.deleteMany({ userId: id })),
      count('identities', collections.identities.deleteOne({ _id: id })),
      count('segment facts', collections.segmentFacts.deleteMany({ userId: id })),
      count('segment memberships', collections.segmentMembers.deleteMany({ userId: id })),
      count('segment changes', collections.segmentChanges.deleteMany({ userId: id })),
      count('segment dues', collections.segmentDues.deleteMany({ userId: id })),
      count('consent records', collections.consentEvents.deleteMany({ userId: id })),
      count('engagements', collections.engagements.deleteMany({ userId: id })),
      collections.ledger.updateMany({ userId: id }, { $unset: { request: '', detail: '' } }),
      // Goals stay counted; the goal event's properties (an order's lines, an address) go.
      collections.conversions.updateMany({ userId: id }, { $set: { 'event.properties': '{}' } }),
    ]);
  }
  return { ids, journeysEnded, keysDestroyed, deleted };
}

export function formatErasure(report: ErasureReport): string {
  const deleted = Object.entries(report.deleted).filter(([, n]) => n > 0).map(([name, n]) => `${n} ${name}`);
  return [
    `erased ${report.ids.length} id(s) of the customer`,
    `  journeys ended: ${report.journeysEnded}`,
    `  data keys destroyed: ${report.keysDestroyed} (her payloads in Temporal can no longer be read)`,
    `  deleted: ${deleted.length ? deleted.join(', ') : 'nothing left to delete'}`,
    '  kept: an erasure suppression, which holds every message to her',
  ].join('\n');
}
