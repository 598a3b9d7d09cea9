/**
 * Moves data written by earlier versions into today's collections. Each step copies with `_id`-keyed
 * inserts (a document already copied is skipped), then renames the old collection aside, so running
 * it again, or from two workers at once, changes nothing. Workers run it at start, before any decision.
 */
import { MongoServerError, type Document } from 'mongodb';
import { insertNew, type Database } from './db.js';

/** Until this version suppressions and cap grants had collections of their own; now both live in policy_records. */
const INTO_POLICY_RECORDS = [
  { from: 'suppressions', kind: 'suppression' },
  { from: 'cap_grants', kind: 'grant' },
] as const;

const BATCH = 1_000;

/** Returns how many documents each old collection handed over (nothing when there was none). */
export async function migrateIntoPolicyRecords(db: Database): Promise<Record<string, number>> {
  const moved: Record<string, number> = {};
  const target = db.db.collection(db.collections.policyRecords.collectionName);
  const present = new Set((await db.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const { from, kind } of INTO_POLICY_RECORDS) {
    if (!present.has(from)) continue;
    moved[from] = 0;
    let batch: Document[] = [];
    const flush = async () => {
      await insertNew(target, batch.map((doc) => ({ ...doc, kind })));
      moved[from]! += batch.length;
      batch = [];
    };
    for await (const doc of db.db.collection(from).find()) {
      batch.push(doc);
      if (batch.length === BATCH) await flush();
    }
    if (batch.length) await flush();
    try {
      await db.db.renameCollection(from, `${from}_before_policy_records`);
    } catch (err) {
      // Another worker renamed it first (NamespaceNotFound): its copy and ours are the same documents.
      if (!(err instanceof MongoServerError && err.code === 26)) throw err;
    }
  }
  return moved;
}
