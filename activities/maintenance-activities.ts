/**
 * Expiring data, cleaned on a Temporal schedule because FerretDB has no TTL indexes: expired
 * suppressions are marked lifted (kept, like every lifting), and ledger entries, step records (long
 * since in the rollups), attribution claims, dedupe claims, cap grants and holds past their retention
 * and occurrences segments no longer count
 * are deleted. And the
 * rollup itself (reports/rollup.ts), the other schedule that writes alone.
 */
import type { CapRule } from '../store/frequency-grants.js';
import type { HoldRule } from '../store/holds.js';
import type { Database } from '../store/db.js';
import { liftExpiredSuppressions } from '../store/suppressions.js';
import { forgetHoursBefore } from '../store/ledger-hours.js';
import { forgetFactsBefore } from '../store/segment-facts.js';
import { forgetPagesBefore } from '../store/broadcast-audiences.js';
import { foldIntoRollups, type RollupOptions, type RollupReport } from '../reports/rollup.js';

export interface CleanupReport {
  suppressionsExpired: number;
  ledgerEntriesDeleted: number;
  stepRecordsDeleted: number;
  dedupeClaimsDeleted: number;
  capGrantsDeleted: number;
  holdsDeleted: number;
  segmentFactsDeleted: number;
  broadcastPagesDeleted: number;
}

export interface MaintenanceActivities {
  cleanExpiredData(): Promise<CleanupReport>;
  foldIntoRollups(): Promise<RollupReport>;
}

export interface Retention {
  ledgerMs: number;
  dedupeMs: number;
  /** Occurrences segments count are kept this long (no window is longer: segments/sdk/segment.ts). */
  segmentFactsMs: number;
  capRules: CapRule[];
  holdRules: HoldRule[];
}

export function createMaintenanceActivities(db: Database, retention: Retention, rollup: RollupOptions): MaintenanceActivities {
  const { suppressions, ledger, inboundEvents, grants, progress, creditClaims } = db.collections;
  return {
    async cleanExpiredData() {
      const now = Date.now();
      const before = (ms: number) => new Date(now - ms);
      // A grant older than the longest window counts against no rule any more.
      const longestWindow = Math.max(...retention.capRules.map((r) => r.windowMs));
      const [suppressionsExpired, ledgerDeleted, , progressDeleted, , , , dedupeDeleted, grantsDeleted, holdsDeleted, segmentFactsDeleted, broadcastPagesDeleted] = await Promise.all([
        liftExpiredSuppressions(suppressions, new Date(now)),
        ledger.deleteMany({ status: 'done', at: { $lt: before(retention.ledgerMs) } }),
        forgetHoursBefore(db.collections.ledgerHours, before(retention.ledgerMs)),
        progress.deleteMany({ insertedAt: { $lt: before(retention.ledgerMs) } }),
        creditClaims.deleteMany({ at: { $lt: before(retention.ledgerMs) } }),
        // Folded long ago; kept until then so a provider's repeated report is still known as a repeat.
        db.collections.deliveryReports.deleteMany({ insertedAt: { $lt: before(retention.ledgerMs) } }),
        db.collections.rateLimits.deleteMany({ until: { $lt: new Date(now) } }),
        inboundEvents.deleteMany({ receivedAt: { $lt: before(retention.dedupeMs) } }),
        grants.deleteMany({ kind: 'grant', at: { $lt: before(longestWindow) } }),
        // A hold past its end, and an ending event older than any hold it could end.
        db.collections.holds.deleteMany({
          $or: [{ kind: 'hold', until: { $lt: new Date(now) } }, { kind: 'hold-end', at: { $lt: before(Math.max(0, ...retention.holdRules.map((r) => r.forMs))) } }],
        }),
        forgetFactsBefore(db.collections.segmentFacts, before(retention.segmentFactsMs)),
        // A broadcast's audience, long after it was sent: with the ledger that says what it did.
        forgetPagesBefore(db.collections.broadcastPages, before(retention.ledgerMs)),
      ]);
      return {
        suppressionsExpired,
        ledgerEntriesDeleted: ledgerDeleted.deletedCount,
        stepRecordsDeleted: progressDeleted.deletedCount,
        dedupeClaimsDeleted: dedupeDeleted.deletedCount,
        capGrantsDeleted: grantsDeleted.deletedCount,
        holdsDeleted: holdsDeleted.deletedCount,
        segmentFactsDeleted,
        broadcastPagesDeleted,
      };
    },
    foldIntoRollups: () => foldIntoRollups(db, rollup),
  };
}
