/**
 * A broadcast occurrence's audience, taken once when it starts sending: its recipients' ids in
 * pages of at most PAGE, per group (a time zone, or those deferred to the same minute), so the
 * workflow carries only page numbers from run to run and reads one page per step. `_id`
 * `<run>|<group>|<page>`: a retried write of the same page is a duplicate, not a second copy.
 */
import type { Collection } from 'mongodb';
import { insertNew } from './db.js';

export const AUDIENCE_PAGE = 500;

export interface BroadcastPageDoc {
  _id: string;
  /** The occurrence's workflow id. */
  run: string;
  group: string;
  page: number;
  userIds: string[];
  createdAt: Date;
}

const pageId = (run: string, group: string, page: number) => `${run}|${group}|${page}`;

/** Stores `userIds` as pages `firstPage`, `firstPage + 1`, …; returns how many. */
export async function savePages(pages: Collection<BroadcastPageDoc>, run: string, group: string, firstPage: number, userIds: string[]): Promise<number> {
  const docs: BroadcastPageDoc[] = [];
  for (let i = 0; i < userIds.length; i += AUDIENCE_PAGE) {
    const page = firstPage + docs.length;
    docs.push({ _id: pageId(run, group, page), run, group, page, userIds: userIds.slice(i, i + AUDIENCE_PAGE), createdAt: new Date() });
  }
  if (docs.length) await insertNew(pages, docs);
  return docs.length;
}

export async function pageOf(pages: Collection<BroadcastPageDoc>, run: string, group: string, page: number): Promise<string[]> {
  const doc = await pages.findOne({ _id: pageId(run, group, page) });
  if (!doc) throw new Error(`broadcast ${run}: no page ${page} of group ${group}`);
  return doc.userIds;
}

/** An attempt at taking the audience starts over: what an earlier one stored goes first. */
export async function forgetAudience(pages: Collection<BroadcastPageDoc>, run: string): Promise<void> {
  await pages.deleteMany({ run });
}

export async function forgetPagesBefore(pages: Collection<BroadcastPageDoc>, before: Date): Promise<number> {
  return (await pages.deleteMany({ createdAt: { $lt: before } })).deletedCount;
}
