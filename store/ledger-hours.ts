/**
 * The ledger by the hour its entries were last written, for the console's newest-first message
 * search. FerretDB 1.24 sorts in Go after decoding every document that matches (11.6 s for the newest
 * 200 of 200,000 entries) and hands PostgreSQL only equality filters. So each entry carries its UTC
 * hour, `ledger_hours` lists the hours that hold entries, and a search reads hour by hour, newest
 * first, each hour by equality, until it has enough: its cost follows the messages shown, not the
 * ledger's size. (MongoDB would serve an index on `at` as well; this way serves both.)
 */
import type { Collection, Filter } from 'mongodb';
import { isDuplicateKey } from './db.js';
import type { LedgerDoc } from './ledger.js';

/** An hour that holds ledger entries: `_id` is its UTC hour, as in `hourOf`. */
export interface LedgerHourDoc {
  _id: string;
}

export const hourOf = (at: Date) => at.toISOString().slice(0, 13);
const AN_HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}$/;

/** Written once the entries from before the hours were kept have theirs (store/migrations.ts). */
export const EVERY_ENTRY_LISTED = 'every entry listed';

/** The hour each collection was last told of, in this process: an hour costs one insert per process. */
const noted = new WeakMap<Collection<LedgerHourDoc>, string>();

/** Lists the hour before an entry is written into it, so no entry is in an hour the list lacks. */
export async function noteHour(hours: Collection<LedgerHourDoc>, hour: string): Promise<void> {
  if (noted.get(hours) === hour) return;
  try {
    await hours.insertOne({ _id: hour });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  noted.set(hours, hour);
}

/** Hours older than the ledger's retention hold nothing any more. */
export async function forgetHoursBefore(hours: Collection<LedgerHourDoc>, before: Date): Promise<number> {
  return (await hours.deleteMany({ _id: { $lt: hourOf(before) } })).deletedCount;
}

export interface NewestSearch {
  /** Equality on entry fields (journey, step, channel), read together with the hour. */
  equal: Partial<Pick<LedgerDoc, 'journeyId' | 'stepId' | 'channel'>>;
  /** Checked on each entry read (a reason's prefix, say). */
  matches?: (entry: LedgerDoc) => boolean;
  /** UTC days, inclusive. */
  from?: string;
  to?: string;
}

/**
 * After this many hours without enough, a search that names a journey, step or channel reads all of
 * its entries at once instead: a rare filter costs its matches, not one round trip per hour.
 */
const HOURS_BEFORE_ONE_READ = 48;

const newestFirst = (a: LedgerDoc, b: LedgerDoc) => b.at.getTime() - a.at.getTime();
const dayOf = (hour: string) => hour.slice(0, 10);
const withinDays = (search: NewestSearch, hour: string) => (!search.from || dayOf(hour) >= search.from) && (!search.to || dayOf(hour) <= search.to);

/** Whether an entry answers the search: for entries already read (one customer's), as for hours read. */
export const answers = (search: NewestSearch) => (entry: LedgerDoc) =>
  Object.entries(search.equal).every(([field, value]) => entry[field as keyof LedgerDoc] === value) &&
  (!search.matches || search.matches(entry)) &&
  withinDays(search, entry.hour ?? hourOf(entry.at));

/** The newest entries that match, newest first, at most `limit`. */
export async function newestEntries(
  collections: { ledger: Collection<LedgerDoc>; ledgerHours: Collection<LedgerHourDoc> },
  search: NewestSearch,
  limit: number,
): Promise<LedgerDoc[]> {
  const hours = (await collections.ledgerHours.find({}).toArray()).map((h) => h._id).filter((h) => AN_HOUR.test(h) && withinDays(search, h)).sort().reverse();
  const keep = (entries: LedgerDoc[]) => entries.filter(answers(search)).sort(newestFirst);
  const found: LedgerDoc[] = [];
  for (const [visited, hour] of hours.entries()) {
    if (visited === HOURS_BEFORE_ONE_READ && Object.keys(search.equal).length) {
      const rest = keep(await collections.ledger.find({ ...search.equal } as Filter<LedgerDoc>).toArray());
      // What the hours already read did not hold: this hour and older.
      return [...found, ...rest.filter((entry) => (entry.hour ?? hourOf(entry.at)) <= hour)].slice(0, limit);
    }
    found.push(...keep(await collections.ledger.find({ ...search.equal, hour } as Filter<LedgerDoc>).toArray()));
    if (found.length >= limit) break;
  }
  return found.slice(0, limit);
}
