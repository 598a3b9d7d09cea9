/**
 * Taking a broadcast occurrence's audience: the members of its segment version now, one streamed
 * read (cost follows the audience, not the customers), stored as pages per group. A local-time
 * broadcast groups them by time zone, read from each member's profile by id, so the workflow can
 * release each zone at its own moment. An attempt starts over (a retry after a crash would
 * otherwise find half its pages), so the pages are always one read of the segment.
 */
import pMap from 'p-map';
import type { Database } from '../store/db.js';
import { AUDIENCE_PAGE, forgetAudience, savePages } from '../store/broadcast-audiences.js';
import { isValidZone } from '../workflows/sdk/local-time.js';

/** Profiles read at once for their zones. */
const ZONE_READS_IN_PARALLEL = 16;

export interface AudienceRequest {
  /** The occurrence's workflow id. */
  run: string;
  /** The segment version. */
  segment: string;
  byZone: boolean;
  fallbackTimeZone: string;
}

export interface TakenGroup {
  /** The time zone, or '*' when the broadcast is not in local time. */
  name: string;
  pages: number;
  recipients: number;
}

export async function takeAudience(db: Database, request: AudienceRequest, progress: (taken: number) => void = () => {}): Promise<TakenGroup[]> {
  const { segmentMembers, profiles, broadcastPages } = db.collections;
  await forgetAudience(broadcastPages, request.run);
  const groups = new Map<string, TakenGroup & { waiting: string[] }>();
  const add = async (name: string, userIds: string[]) => {
    const group = groups.get(name) ?? { name, pages: 0, recipients: 0, waiting: [] };
    groups.set(name, group);
    group.waiting.push(...userIds);
    group.recipients += userIds.length;
    // Full pages go now; the last, partial one at the end.
    const full = group.waiting.length - (group.waiting.length % AUDIENCE_PAGE);
    if (full) group.pages += await savePages(broadcastPages, request.run, name, group.pages, group.waiting.splice(0, full));
  };
  const zoneOf = async (userId: string) => {
    const zone = (await profiles.findOne({ _id: userId }, { projection: { 'traits.timezone': 1 } }))?.traits?.timezone;
    return typeof zone === 'string' && isValidZone(zone) ? zone : request.fallbackTimeZone;
  };
  const flush = async (chunk: string[]) => {
    if (!request.byZone) return add('*', chunk);
    const zones = await pMap(chunk, zoneOf, { concurrency: ZONE_READS_IN_PARALLEL });
    const byZone = new Map<string, string[]>();
    chunk.forEach((userId, i) => byZone.set(zones[i]!, [...(byZone.get(zones[i]!) ?? []), userId]));
    for (const [zone, userIds] of byZone) await add(zone, userIds);
  };
  let chunk: string[] = [];
  let taken = 0;
  for await (const { userId } of segmentMembers.find({ segment: request.segment, member: true }, { projection: { userId: 1 } })) {
    chunk.push(userId);
    if (chunk.length < AUDIENCE_PAGE) continue;
    await flush(chunk);
    progress((taken += chunk.length));
    chunk = [];
  }
  await flush(chunk);
  for (const group of groups.values()) group.pages += await savePages(broadcastPages, request.run, group.name, group.pages, group.waiting);
  return [...groups.values()].map(({ name, pages, recipients }) => ({ name, pages, recipients }));
}
