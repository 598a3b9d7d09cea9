/**
 * Expiring data, cleaned on a Temporal schedule because FerretDB has no TTL indexes: expired
 * suppressions are marked lifted (kept, like every lifting), and ledger entries, dedupe claims and
 * cap grants past their retention are deleted.
 */
import type { CapRule } from '../store/frequency-grants.js';
import type { Database } from '../store/db.js';
import { liftExpiredSuppressions } from '../store/suppressions.js';

export interface CleanupReport {
  suppressionsExpired: number;
  ledgerEntriesDeleted: number;
  dedupeClaimsDeleted: number;
  capGrantsDeleted: number;
}

export interface MaintenanceActivities {
  cleanExpiredData(): Promise<CleanupReport>;
}

export interface Retention {
  ledgerMs: number;
  dedupeMs: number;
  capRules: CapRule[];
}

export function createMaintenanceActivities(db: Database, retention: Retention): MaintenanceActivities {
  const { suppressions, ledger, inboundEvents, grants } = db.collections;
  return {
    async cleanExpiredData() {
      const now = Date.now();
      const before = (ms: number) => new Date(now - ms);
      // A grant older than the longest window counts against no rule any more.
      const longestWindow = Math.max(...retention.capRules.map((r) => r.windowMs));
      const [suppressionsExpired, ledgerDeleted, dedupeDeleted, grantsDeleted] = await Promise.all([
        liftExpiredSuppressions(suppressions, new Date(now)),
        ledger.deleteMany({ status: 'done', at: { $lt: before(retention.ledgerMs) } }),
        inboundEvents.deleteMany({ receivedAt: { $lt: before(retention.dedupeMs) } }),
        grants.deleteMany({ kind: 'grant', at: { $lt: before(longestWindow) } }),
      ]);
      return {
        suppressionsExpired,
        ledgerEntriesDeleted: ledgerDeleted.deletedCount,
        dedupeClaimsDeleted: dedupeDeleted.deletedCount,
        capGrantsDeleted: grantsDeleted.deletedCount,
      };
    },
  };
}
