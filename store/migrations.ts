/**
 * Moves data written by earlier versions into today's collections. Each step copies with `_id`-keyed
 * inserts (a document already copied is skipped), then renames the old collection aside, so running
 * it again, or from two workers at once, changes nothing. Workers run it at start, before any decision.
 */
import { MongoServerError, type Document } from 'mongodb';
import { insertNew, type Database } from './db.js';
import { EVERY_ENTRY_LISTED, hourOf } from './ledger-hours.js';

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

/**
 * Until this version ledger entries had no hour (ledger-hours.ts): each gets the hour of its `at`,
 * the hours are listed first, and the marker last, so a start that died half-way is finished by the
 * next. Returns how many entries got their hour.
 */
export async function listLedgerHours(db: Database): Promise<number> {
  const { ledger, ledgerHours } = db.collections;
  if (await ledgerHours.findOne({ _id: EVERY_ENTRY_LISTED })) return 0;
  const unlisted = (await ledger.find({}, { projection: { _id: 1, at: 1, hour: 1 } }).toArray()).filter((entry) => !entry.hour);
  const hours = [...new Set(unlisted.map((entry) => hourOf(entry.at)))];
  if (hours.length) await insertNew(ledgerHours, hours.map((hour) => ({ _id: hour })));
  for (const entry of unlisted) await ledger.updateOne({ _id: entry._id, hour: { $exists: false } }, { $set: { hour: hourOf(entry.at) } });
  await insertNew(ledgerHours, [{ _id: EVERY_ENTRY_LISTED }]);
  return unlisted.length;
}
