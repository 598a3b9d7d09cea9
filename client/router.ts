/**
 * Which journeys an event starts, advances or ends, derived from the journey definitions. A user's
 * journey instance is addressed by its deterministic workflow id: no look-up, no scan.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { eventSignal, journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { eventsHeardBy, type JourneyDefinition } from '../workflows/sdk/journey.js';
import type { JourneyEvent, JourneyInput } from '../workflows/sdk/types.js';
import { USER_ID } from './search-attributes.js';

export interface RouterOptions {
  client: Client;
  taskQueue: string;
  journeys: readonly JourneyDefinition[];
  /** Per-journey overrides of default settings, by journey id. */
  settings: Record<string, Record<string, string | number>>;
}

export type Router = (event: JourneyEvent) => Promise<void>;

function indexBy(journeys: readonly JourneyDefinition[], events: (j: JourneyDefinition) => string[]) {
  const index = new Map<string, JourneyDefinition[]>();
  for (const journey of journeys) {
    for (const event of events(journey)) index.set(event, [...(index.get(event) ?? []), journey]);
  }
  return index;
}

export function createRouter(options: RouterOptions): Router {
  const { client, taskQueue } = options;
  const starts = indexBy(options.journeys, (j) => [j.trigger.event]);
  const heard = indexBy(options.journeys, eventsHeardBy);

  return async (event) => {
    const starting = starts.get(event.event) ?? [];
    const listening = (heard.get(event.event) ?? []).filter((j) => !starting.includes(j));
    await Promise.all([
      // One active instance per user and journey: signalWithStart joins a running one or starts one.
      ...starting.map((journey) => {
        const input: JourneyInput = { userId: event.userId, entryEvent: event, settings: options.settings[journey.id] };
        return client.workflow.signalWithStart(journey.id, {
          workflowId: journeyWorkflowId(journey.id, event.userId),
          taskQueue,
          args: [input],
          signal: eventSignal,
          signalArgs: [event],
          typedSearchAttributes: [{ key: USER_ID, value: event.userId }],
        });
      }),
      ...listening.map(async (journey) => {
        try {
          await client.workflow.getHandle(journeyWorkflowId(journey.id, event.userId)).signal(eventSignal, event);
        } catch (err) {
          // The user is not in this journey (never entered, or already left): nothing to advance.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }),
    ]);
  };
}
