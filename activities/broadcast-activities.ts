/** The broadcast workflow's activities: its audience taken into pages, a page read, deferred recipients stored as pages of their own. */
import { heartbeat } from '@temporalio/activity';
import type { Database } from '../store/db.js';
import { pageOf, savePages } from '../store/broadcast-audiences.js';
import { takeAudience, type AudienceRequest, type TakenGroup } from '../broadcasts/audience.js';

export interface BroadcastActivities {
  takeAudience(request: AudienceRequest): Promise<TakenGroup[]>;
  audiencePage(page: { run: string; group: string; page: number }): Promise<string[]>;
  /** Returns how many pages they took. */
  deferRecipients(deferred: { run: string; group: string; firstPage: number; userIds: string[] }): Promise<number>;
}

export function createBroadcastActivities(db: Database): BroadcastActivities {
  const pages = db.collections.broadcastPages;
  return {
    // Heartbeats per page taken: a worker that dies is noticed within the heartbeat timeout.
    takeAudience: (request) => takeAudience(db, request, (taken) => heartbeat(taken)),
    audiencePage: ({ run, group, page }) => pageOf(pages, run, group, page),
    deferRecipients: ({ run, group, firstPage, userIds }) => savePages(pages, run, group, firstPage, userIds),
  };
}
