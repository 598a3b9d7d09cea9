/**
 * Which journeys an event starts, advances or ends, derived from the journey definitions. A
 * customer's instance is addressed by its deterministic workflow id: no look-up, no scan. A customer
 * who was first seen anonymously may still have journeys running under the anonymous id: their
 * events reach those instances too, and do not start a second instance beside one.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Database } from '../store/db.js';
import { journeyVersions, latestJourneys } from '../workflows/journeys/index.js';
import { loadProfile } from '../store/profiles.js';
import { evaluate, scopesOf } from '../workflows/sdk/conditions.js';
import { eventSignal, identifiedSignal, JOURNEY_WORKFLOW_TYPE, journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { entryEvent, eventsHeardBy, type JourneyDefinition } from '../workflows/sdk/journey.js';
import { segmentEvent } from '../workflows/sdk/segment-events.js';
import type { ChangeListener } from '../segments/change-dispatch.js';
import { parseSegmentKey } from '../segments/sdk/segment.js';
import { currentMemberships, type SegmentChangeDoc } from '../store/segment-memberships.js';
import type { Config } from '../config.js';
import { spanMs } from '../workflows/sdk/local-time.js';
import { DEFINITION, JOURNEY, JOURNEY_VERSION, USER_ID } from '../workflows/sdk/search-attributes.js';
import { fingerprint } from '../workflows/sdk/definition-fingerprint.js';
import { callGate } from '../platform/call-gate.js';
import { prepareSealing } from '../platform/temporal.js';
import { routingSeconds } from '../platform/metrics.js';
import { mayEnter } from '../workflows/journeys/experiments.js';
import type { Duration, JourneyEvent, JourneyInput } from '../workflows/sdk/types.js';

export interface RouterOptions {
  client: Client;
  db: Database;
  taskQueue: string;
  /** Every version in the build; new entrants get each journey's highest version. */
  journeys: readonly JourneyDefinition[];
  /** Per-journey overrides of settings, by journey id. */
  settings: Record<string, Record<string, Duration>>;
  /**
   * Calls to Temporal from this process: at most `inFlight` at once, each giving up `timeoutMs` after
   * it starts (platform/call-gate.ts). Default: no limit, and the client's own retries.
   */
  calls?: { timeoutMs: number; inFlight: number };
  /** JOURNEY_EXPERIMENTS: the cross-journey experiments running (see experiment-arms.ts). */
  experiments?: readonly string[];
}

export interface Router extends ChangeListener {
  /**
   * `earlierIds`: ids the customer was known by before (see store/identities.ts); their instances
   * count too. `startedSince`: the event was accepted then and is being finished late (its claimer
   * failed half way); a run that started since then is taken as the one it started, and not started
   * again, even if it has ended.
   */
  route(event: JourneyEvent, earlierIds?: string[], startedSince?: Date): Promise<Record<string, string>>;
  /** The person `fromId` turned out to be `userId`: their running journeys carry on for `userId`. */
  handOver(fromId: string, userId: string): Promise<void>;
}

function indexByEvent(journeys: JourneyDefinition[], events: (j: JourneyDefinition) => string[]): Map<string, JourneyDefinition[]> {
  const index = new Map<string, JourneyDefinition[]>();
  for (const journey of journeys) {
    for (const event of new Set(events(journey))) index.set(event, [...(index.get(event) ?? []), journey]);
  }
  return index;
}

/** The instance key an event carries for a keyed journey; null when it carries none. */
function keyOf(journey: JourneyDefinition, event: JourneyEvent): string | undefined | null {
  if (!journey.entry.key) return undefined;
  const value = event.properties[journey.entry.key];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

function withinWindow(journey: JourneyDefinition, event: JourneyEvent): boolean {
  const { from, until } = journey.entry.window ?? {};
  const at = Date.parse(event.timestamp);
  return (!from || at >= Date.parse(from)) && (!until || at < Date.parse(until));
}

/** A membership change as journeys hear it: its id is the messageId, so each instance takes it once. */
export function segmentChangeEvent(change: SegmentChangeDoc): JourneyEvent {
  const { id, version } = parseSegmentKey(change.segment);
  return {
    messageId: change._id,
    event: segmentEvent(id, change.change === 'joined' ? 'join' : 'leave'),
    userId: change.userId,
    timestamp: change.at.toISOString(),
    properties: { segment: id, version, decidedBy: change.decidedBy, cause: change.cause },
  };
}

/** The deployment's router: this build's journeys with the configured settings and experiments. */
export function deploymentRouter(
  client: Client,
  db: Database,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'JOURNEY_SETTINGS' | 'JOURNEY_EXPERIMENTS'>,
  options: Partial<Pick<RouterOptions, 'journeys' | 'calls'>> = {},
): Router {
  return createRouter({ client, db, taskQueue: config.TEMPORAL_TASK_QUEUE, journeys: options.journeys ?? journeyVersions, settings: config.JOURNEY_SETTINGS, experiments: config.JOURNEY_EXPERIMENTS, calls: options.calls });
}

export function createRouter(options: RouterOptions): Router {
  const { taskQueue, db } = options;
  // Every Temporal call below goes through the gate, when one is set, with a deadline from its start:
  // Temporal's own, and the gate's too, since the client's retries back off past it while the server is down.
  const { calls } = options;
  const gate = calls && callGate({ inFlight: calls.inFlight, deadlineMs: calls.timeoutMs, what: 'Temporal gave no answer' });
  const within = <T>(call: () => Promise<T>) => (gate ? gate(() => options.client.withDeadline(Date.now() + calls.timeoutMs, call)) : call());
  // A call that carries the customer's payloads has her key at hand first: the deadline is Temporal's alone.
  const sealedWithin = <T>(workflowId: string, call: () => Promise<T>) => prepareSealing(options.client, workflowId).then(() => within(call));
  const client = {
    workflow: {
      getHandle: (workflowId: string) => {
        const handle = options.client.workflow.getHandle(workflowId);
        return {
          describe: () => within(() => handle.describe()),
          signal: <A extends unknown[]>(signal: SignalDefinition<A>, ...args: A) => sealedWithin(workflowId, () => handle.signal(signal, ...args)),
        };
      },
      signalWithStart: (...args: Parameters<Client['workflow']['signalWithStart']>) =>
        sealedWithin(args[1].workflowId, () => options.client.workflow.signalWithStart(...args)),
    },
  };
  const latest = latestJourneys(options.journeys);
  // Each instance records the definition it started with, for `journeys check` before a deploy.
  const definitions = new Map(latest.map((j) => [j, fingerprint(j).definition]));
  // Derived once from the definitions, so routing an event is two map look-ups.
  const startsOn = indexByEvent(latest, (j) => [entryEvent(j)]);
  // Instances of older versions may wait for events the latest no longer does: listen for all of them.
  const hears = indexByEvent(latest, (j) => options.journeys.filter((v) => v.id === j.id).flatMap(eventsHeardBy));

  const running = new Set(options.experiments ?? []);

  async function passesFilter(journey: JourneyDefinition, event: JourneyEvent): Promise<boolean> {
    const where = journey.entry.where;
    if (!where) return true;
    const scopes = scopesOf(where);
    const [profile, segments] = await Promise.all([
      scopes.has('profile') ? loadProfile(db.collections.profiles, event.userId) : undefined,
      scopes.has('segments') ? currentMemberships(db.collections.segmentMembers, event.userId) : undefined,
    ]);
    return evaluate(where, { event: event.properties, profile: profile?.traits ?? {}, segments: segments ?? {} });
  }

  /** The latest run of an instance, if there has been one. */
  async function latestRun(workflowId: string) {
    try {
      return await client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** Cooldown: the last instance must have closed at least `cooldown` before this event. */
  async function coolingDown(workflowId: string, cooldown: Duration, event: JourneyEvent): Promise<boolean> {
    const closeTime = (await latestRun(workflowId))?.closeTime;
    if (!closeTime) return false; // none, or running: the event joins it
    return Date.parse(event.timestamp) - closeTime.getTime() < spanMs(cooldown);
  }

  /** Sends a signal to an instance if it is running; false if there is none. */
  async function signalIfRunning<A extends unknown[]>(workflowId: string, signal: SignalDefinition<A>, ...args: A): Promise<boolean> {
    try {
      await client.workflow.getHandle(workflowId).signal(signal, ...args);
      return true;
    } catch (err) {
      // The customer is not in this journey (never entered, or already left).
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** Starts (or joins) the customer's instance; says what it did, for a segment change's record. */
  async function start(journey: JourneyDefinition, event: JourneyEvent, earlierIds: string[], startedSince: Date | undefined): Promise<string> {
    const key = keyOf(journey, event);
    if (key === null) return 'not entered: the event has no key';
    if (!withinWindow(journey, event)) return 'not entered: outside its entry window';
    if (!mayEnter(journey.id, event.userId, running)) return 'not entered: held out by a cross-journey experiment';
    if (!(await passesFilter(journey, event))) return 'not entered: its entry filter (where) did not hold';
    // Already in this journey from before they were known: the event joins that instance.
    for (const earlierId of earlierIds) {
      if (await signalIfRunning(journeyWorkflowId(journey.id, earlierId, key), eventSignal, event)) return `joined the instance of ${earlierId}`;
    }
    const workflowId = journeyWorkflowId(journey.id, event.userId, key);
    const lastStarted = startedSince && (await latestRun(workflowId))?.startTime;
    if (startedSince && lastStarted && lastStarted >= startedSince) {
      await signalIfRunning(workflowId, eventSignal, event); // a run drops an event it has seen
      return 'entered (a run started since is its own)';
    }
    const reentry = journey.entry.reentry ?? { policy: 'always' };
    if (reentry.policy === 'cooldown' && (await coolingDown(workflowId, reentry.cooldown, event))) return `not entered: re-entry cooldown of ${reentry.cooldown}`;
    const input: JourneyInput = {
      journeyId: journey.id,
      version: journey.version,
      userId: event.userId,
      ...(key === undefined ? {} : { key }),
      entryEvent: event,
      settings: options.settings[journey.id],
    };
    try {
      // One active instance per customer (and key): signalWithStart joins a running one or starts one.
      await client.workflow.signalWithStart(JOURNEY_WORKFLOW_TYPE, {
        workflowId,
        taskQueue,
        args: [input],
        signal: eventSignal,
        signalArgs: [event],
        workflowIdReusePolicy: reentry.policy === 'never' ? WorkflowIdReusePolicy.REJECT_DUPLICATE : WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [
          { key: USER_ID, value: event.userId },
          { key: JOURNEY, value: journey.id },
          { key: JOURNEY_VERSION, value: journey.version },
          { key: DEFINITION, value: definitions.get(journey)! },
        ],
      });
      return 'entered (or reached the instance running)';
    } catch (err) {
      // Re-entry 'never' and the customer has been through the journey before.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      return 'not entered: re-entry never, and entered before';
    }
  }

  async function deliver(journey: JourneyDefinition, event: JourneyEvent, earlierIds: string[]): Promise<string> {
    const key = keyOf(journey, event);
    if (key === null) return 'not delivered: the event has no key'; // a keyed journey's instance cannot be addressed without the key
    const persons = [event.userId, ...earlierIds];
    const reached = await Promise.all(persons.map((person) => signalIfRunning(journeyWorkflowId(journey.id, person, key), eventSignal, event)));
    return reached.some(Boolean) ? 'delivered to the instance running' : 'no instance running';
  }

  /** What the event did in each journey it starts or reaches, by journey id. */
  async function route(event: JourneyEvent, earlierIds: string[] = [], startedSince?: Date): Promise<Record<string, string>> {
    const starting = startsOn.get(event.event) ?? [];
    const listening = (hears.get(event.event) ?? []).filter((j) => !starting.includes(j));
    const timed = routingSeconds.startTimer();
    const outcomes = await Promise.all([
      ...starting.map(async (j) => [j.id, await start(j, event, earlierIds, startedSince)] as const),
      ...listening.map(async (j) => [j.id, await deliver(j, event, earlierIds)] as const),
    ]);
    timed();
    return Object.fromEntries(outcomes);
  }

  return {
    route,
    hearsChange(segmentId, change) {
      const name = segmentEvent(segmentId, change === 'joined' ? 'join' : 'leave');
      return startsOn.has(name) || hears.has(name);
    },
    routeChange(change, startedSince) {
      return route(segmentChangeEvent(change), [], startedSince);
    },
    async handOver(fromId, userId) {
      // Keyed instances carry their key in the id, so only unkeyed journeys can be addressed here.
      const unkeyed = latest.filter((j) => !j.entry.key);
      await Promise.all(unkeyed.map((j) => signalIfRunning(journeyWorkflowId(j.id, fromId), identifiedSignal, userId)));
    },
  };
}
