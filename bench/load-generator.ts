/**
 * A small load generator: Segment batches of real-shaped events for many customers, posted to the
 * ingestion API with several requests in flight, as a CDP's delivery workers would.
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { setTimeout as sleep } from 'node:timers/promises';
import pMap from 'p-map';
import { postSegment } from '../client/segment-http.js';
import { cartAbandonmentV2 as cartAbandonment } from '../workflows/journeys/cart-abandonment.js';
import { eventSignal, JOURNEY_WORKFLOW_TYPE, journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { JOURNEY, JOURNEY_VERSION, USER_ID } from '../workflows/sdk/search-attributes.js';
import type { Duration, JourneyEvent } from '../workflows/sdk/types.js';
import type { JourneyDefinition } from '../workflows/sdk/journey.js';

export interface LoadOptions {
  url: string;
  writeKey: string;
  /** Events per /v1/batch call. */
  batchSize: number;
  /** Batch calls in flight at once. */
  concurrency: number;
  /** Counts the batches answered 503 and posted again after their Retry-After, as a CDP does. */
  retried?: { count: number };
  /** Hears of each batch when it is first posted. */
  onSent?: (batch: unknown[], at: number) => void;
}

/** A CDP's delivery gives up on a batch after this many tries. */
const MAX_TRIES = 10;

/** One track event as analytics.js would send it. */
export function trackEvent(userId: string, event: string, properties: Record<string, unknown>, messageId: string) {
  const now = new Date().toISOString();
  return {
    type: 'track', userId, event, properties, messageId, timestamp: now, sentAt: now,
    context: { library: { name: 'analytics.js', version: 'next-1.72.0' }, page: { path: '/checkout' }, locale: 'en-US' },
  };
}

/**
 * Posts every event in batches; resolves with each batch's time from its first POST to its 200. A
 * 503 (a dependency slower than the server waits for) is posted again after its Retry-After, as
 * Segment's delivery does; any other answer fails the run.
 */
export async function postInBatches(events: unknown[], options: LoadOptions): Promise<number[]> {
  const batches = Array.from({ length: Math.ceil(events.length / options.batchSize) }, (_, i) =>
    events.slice(i * options.batchSize, (i + 1) * options.batchSize),
  );
  return pMap(
    batches,
    async (batch) => {
      const started = performance.now();
      options.onSent?.(batch, Date.now());
      for (let tries = 1; ; tries++) {
        const response = await postSegment(options.url, options.writeKey, '/v1/batch', { batch });
        if (response.status === 200) return performance.now() - started;
        if (response.status !== 503 || tries === MAX_TRIES) throw new Error(`batch answered ${response.status}: ${JSON.stringify(response.body)}`);
        if (options.retried) options.retried.count++;
        await sleep(Number(response.headers.get('retry-after') ?? 1) * 1_000);
      }
    },
    { concurrency: options.concurrency },
  );
}

/** What routing a "Checkout Started" asks of Temporal for cart abandonment, made directly: a baseline. */
/** A cart-abandonment journey started the bare way, for baselines. */
export const startCartJourney = (client: Client, taskQueue: string, event: JourneyEvent, settings?: Record<string, Duration>) =>
  startJourney(client, taskQueue, cartAbandonment, event, settings);

/** A journey started by signalWithStart alone (no HTTP, dedupe, segments or routing), for baselines. */
export function startJourney(client: Client, taskQueue: string, journey: JourneyDefinition, event: JourneyEvent, settings?: Record<string, Duration>) {
  const { userId } = event;
  return client.workflow.signalWithStart(JOURNEY_WORKFLOW_TYPE, {
    workflowId: journeyWorkflowId(journey.id, userId),
    taskQueue,
    args: [{ journeyId: journey.id, version: journey.version, userId, entryEvent: event, ...(settings ? { settings } : {}) }],
    signal: eventSignal,
    signalArgs: [event],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [
      { key: USER_ID, value: userId },
      { key: JOURNEY, value: journey.id },
      { key: JOURNEY_VERSION, value: journey.version },
    ],
  });
}

/**
 * A fixed-offset zone (`UTC+5:37`) in which `instant` is at the local time `hh:mm`: for customers whose
 * occasion at a local time must fall due at a chosen minute. `instant` must be on a UTC minute.
 */
export function zoneWhereLocalTimeIs(instant: number, localTime: string): string {
  const [hour, minute] = localTime.split(':').map(Number) as [number, number];
  const utc = new Date(instant);
  let offset = (hour * 60 + minute - (utc.getUTCHours() * 60 + utc.getUTCMinutes())) % 1440;
  if (offset < -720) offset += 1440;
  if (offset > 840) offset -= 1440;
  return `UTC${offset < 0 ? '-' : '+'}${Math.floor(Math.abs(offset) / 60)}:${String(Math.abs(offset) % 60).padStart(2, '0')}`;
}
