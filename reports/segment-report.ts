/**
 * What the console and the CLI say about segments: a version's size now, joins and leaves per day,
 * its backfill's progress; and one customer's memberships with every change and what decided it.
 */
import type { Database } from '../store/db.js';
import { backfillOf } from '../store/segment-backfills.js';
import { changesOf, changesPerDay, membershipsOf, memberCount, type SegmentChangeDoc } from '../store/segment-memberships.js';
import { describe } from '../segments/sdk/conditions.js';
import { segmentKey, type SegmentDefinition } from '../segments/sdk/segment.js';

export interface SegmentOverview {
  id: string;
  version: number;
  description: string;
  definition: string;
  where: SegmentDefinition['where'];
  members: number;
  perDay: { day: string; joined: number; left: number }[];
  backfill: { processed: number; total: number; finished: boolean } | undefined;
}

const lastDays = (days: number, now = Date.now()) => Array.from({ length: days }, (_, i) => new Date(now - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));

export async function segmentOverview(db: Database, segment: SegmentDefinition, days = 14): Promise<SegmentOverview> {
  const key = segmentKey(segment);
  const [members, perDay, backfill] = await Promise.all([
    memberCount(db.collections.segmentMembers, key),
    changesPerDay(db.collections.segmentChanges, key, lastDays(days)),
    backfillOf(db.collections.segmentBackfills, key),
  ]);
  return {
    id: segment.id,
    version: segment.version,
    description: segment.description,
    definition: describe(segment.where),
    where: segment.where,
    members,
    perDay,
    backfill: backfill && { processed: backfill.processed, total: backfill.total, finished: !!backfill.finishedAt },
  };
}

export interface CustomerSegments {
  /** Segment versions the customer is in now. */
  memberOf: { segment: string; since: Date; decidedBy: string }[];
  changes: SegmentChangeDoc[];
}

export async function customerSegments(db: Database, userId: string): Promise<CustomerSegments> {
  const [states, changes] = await Promise.all([membershipsOf(db.collections.segmentMembers, userId), changesOf(db.collections.segmentChanges, userId)]);
  return { memberOf: states.filter((s) => s.member).map((s) => ({ segment: s.segment, since: s.since, decidedBy: s.decidedBy })), changes };
}

export function formatCustomerSegments({ memberOf, changes }: CustomerSegments): string {
  const lines = [`Segments: ${memberOf.length ? memberOf.map((m) => m.segment).join(', ') : 'none'}`];
  for (const c of changes) {
    lines.push(`  ${c.at.toISOString()}  ${c.change.padEnd(6)} ${c.segment}  because ${c.decidedBy}  (${c.cause})`);
    for (const [journey, outcome] of Object.entries(c.journeys ?? {})) lines.push(`      → ${journey}: ${outcome}`);
    if (c.dispatch) lines.push('      → not handed to its journeys yet (the recovery schedule will)');
  }
  return lines.join('\n');
}

export function formatSegmentOverview(o: SegmentOverview): string {
  const backfill = !o.backfill ? 'not started' : o.backfill.finished ? `done (${o.backfill.processed} profiles)` : `${o.backfill.processed} of ~${o.backfill.total} profiles`;
  return [
    `${o.id} v${o.version}: ${o.description}`,
    `  where ${o.definition}`,
    `  members now: ${o.members}    backfill: ${backfill}`,
    ...o.perDay.filter((d) => d.joined || d.left).map((d) => `  ${d.day}  +${d.joined} −${d.left}`),
  ].join('\n');
}
