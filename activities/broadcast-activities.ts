/**
 * The broadcast workflows' activities: an occurrence's audience taken into pages, a page read,
 * deferred recipients stored as pages of their own, a batch of recipients entered into its journey;
 * and a recurring broadcast's next occurrence planned from the build, and started.
 */
import { activityInfo, heartbeat } from '@temporalio/activity';
import type { Database } from '../store/db.js';
import type { Router } from '../events/router.js';
import { pageOf, savePages } from '../store/broadcast-audiences.js';
import { takeAudience, type AudienceRequest, type TakenGroup } from '../broadcasts/audience.js';
import { enterJourney, type JourneyEntryBatch } from '../broadcasts/journey-entry.js';
import type { DeliveryOutcome } from '../workflows/sdk/types.js';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { broadcasts } from '../broadcasts/definitions/index.js';
import { startBroadcast } from '../broadcasts/control.js';
import { nextOccurrence, occurrenceBegins } from '../broadcasts/sdk/recurrence.js';
import { BATCH_HEARTBEAT_MS } from './delivery-activities.js';

export interface BroadcastActivities {
  takeAudience(request: AudienceRequest): Promise<TakenGroup[]>;
  audiencePage(page: { run: string; group: string; page: number }): Promise<string[]>;
  /** Returns how many pages they took. */
  deferRecipients(deferred: { run: string; group: string; firstPage: number; userIds: string[] }): Promise<number>;
  /** Each recipient's entry (or why not), in the batch's order. */
  enterJourney(batch: JourneyEntryBatch, inParallel: number): Promise<DeliveryOutcome[]>;
  /** The next occurrence of a recurring broadcast of this build, and when it begins; null when it no longer recurs. */
  planOccurrence(plan: { broadcast: string; after?: string; now: number }): Promise<{ occurrence: string; beginsAt: number } | null>;
  startOccurrence(occurrence: { broadcast: string; occurrence: string }): Promise<void>;
}

export function createBroadcastActivities(
  db: Database,
  temporal: () => Promise<Client>,
  router: () => Promise<Router>,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'DEFAULT_TIME_ZONE'>,
): BroadcastActivities {
  const pages = db.collections.broadcastPages;
  return {
    // Heartbeats per page taken: a worker that dies is noticed within the heartbeat timeout.
    takeAudience: (request) => takeAudience(db, request, (taken) => heartbeat(taken)),
    audiencePage: ({ run, group, page }) => pageOf(pages, run, group, page),
    deferRecipients: ({ run, group, firstPage, userIds }) => savePages(pages, run, group, firstPage, userIds),
    async enterJourney(batch, inParallel) {
      const info = activityInfo();
      // A later attempt hands the whole batch over again: runs started since the first are its own.
      const startedSince = info.attempt > 1 ? new Date(info.scheduledTimestampMs) : undefined;
      const beating = setInterval(() => heartbeat(), BATCH_HEARTBEAT_MS);
      try {
        return await enterJourney(db, await router(), batch, inParallel, startedSince);
      } finally {
        clearInterval(beating);
      }
    },
    async planOccurrence({ broadcast, after, now }) {
      const definition = broadcasts.find((b) => b.id === broadcast);
      if (!definition?.recurring || !definition.atLocalTime) return null;
      const occurrence = nextOccurrence(definition.recurring, definition.atLocalTime, now, after);
      return { occurrence, beginsAt: occurrenceBegins(occurrence, definition.atLocalTime, now) };
    },
    async startOccurrence({ broadcast, occurrence }) {
      await startBroadcast(await temporal(), config, broadcast, occurrence);
    },
  };
}
