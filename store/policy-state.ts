/**
 * A customer's delivery policy state: their suppressions, cap grants and holds, kept in one collection
 * (`policy_records`, a `kind` field tells them apart) so the decision reads it all with one indexed
 * query. With the profile read beside it and the grant insert after it, a send's decision is three
 * round trips however many cap rules apply (see bench/policy.ts).
 */
import type { Collection } from 'mongodb';
import type { GrantDoc } from './frequency-grants.js';
import { activeHolds, type HoldDoc, type HoldEndDoc } from './holds.js';
import { isActive, type SuppressionDoc } from './suppressions.js';

export type PolicyRecordDoc = SuppressionDoc | GrantDoc | HoldDoc | HoldEndDoc;

export interface PolicyState {
  /** Active suppressions only: lifted and expired ones do not hold anything back. */
  suppressions: SuppressionDoc[];
  grants: GrantDoc[];
  /** Holds in force now (store/holds.ts). */
  holds: HoldDoc[];
}

export async function loadPolicyState(records: Collection<PolicyRecordDoc>, userId: string, now: Date): Promise<PolicyState> {
  // Grants carry string ids; suppressions get ObjectIds, which nothing here reads.
  const docs = (await records.find({ userId }).toArray()) as PolicyRecordDoc[];
  return {
    suppressions: docs.filter((d): d is SuppressionDoc => d.kind === 'suppression' && isActive(d, now)),
    grants: docs.filter((d): d is GrantDoc => d.kind === 'grant'),
    holds: activeHolds(docs.filter((d): d is HoldDoc | HoldEndDoc => d.kind === 'hold' || d.kind === 'hold-end'), now),
  };
}
