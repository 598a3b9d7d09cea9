/**
 * Broadcasts as code: one message to every member of a segment, or every member into a journey,
 * once per occurrence. Checked when
 * defined (a mistake fails the build's load, not a send), and plain data, so a run carries its
 * definition in its input: a deployment that changes the definition never changes a broadcast
 * already under way. No Node imports: the broadcast workflow reads this file in Temporal's sandbox.
 */
import { DateTime } from 'luxon';
import { isOffset, isValidZone, LOCAL_TIME, spanMs } from '../../workflows/sdk/local-time.js';
import { entryEvent, latestVersions, type Goal, type JourneyDefinition } from '../../workflows/sdk/journey.js';
import { broadcastEvent } from '../../workflows/sdk/broadcast-events.js';
import type { Category, MessageChannel } from '../../workflows/sdk/types.js';
import { recurrenceProblem, type Recurrence } from './recurrence.js';

/**
 * One message through the delivery path; or the journey (workflows/journeys/) each recipient enters,
 * which must enter on this broadcast (`entry: { broadcast: id }`) and sends what it sends itself.
 */
export type BroadcastSend = { channel: MessageChannel; template: string; category: Category } | { journey: string };

export const entersJourney = (send: BroadcastSend): send is { journey: string } => 'journey' in send;

export interface BroadcastDefinition {
  id: string;
  description: string;
  /** The segment whose members, when the broadcast starts sending, are its audience (its latest version in the build). */
  segment: string;
  send: BroadcastSend;
  /**
   * When it sends: an ISO instant; with `atLocalTime`, a date (YYYY-MM-DD) on which each recipient
   * gets it at that time in their own zone. Absent: when started (or on the date it is started for).
   */
  at?: string;
  /** HH:MM in each recipient's time zone (the `timezone` trait, else `fallbackTimeZone`). */
  atLocalTime?: string;
  /** For recipients without a valid zone of their own (default: the deployment's DEFAULT_TIME_ZONE). */
  fallbackTimeZone?: string;
  /** At most this many sends begun per minute; without it, as fast as the delivery path goes. */
  throttle?: { perMinute: number };
  /**
   * An occurrence on each date of this calendar, at `atLocalTime` in each recipient's zone (which a
   * recurring broadcast needs, and no `at`): started by the deployment itself, each named by its date.
   */
  recurring?: Recurrence;
  /**
   * What counts as success, as a journey's goals: a goal event within `within` of a recipient's
   * message is its conversion, credited to the occurrence in the reports. Message broadcasts only
   * (a broadcast into a journey has the journey's goals).
   */
  goals?: Goal[];
}

export class BroadcastDefinitionError extends Error {}

const ID = /^[a-z][a-zA-Z0-9-]*$/;

export function defineBroadcast(definition: BroadcastDefinition): BroadcastDefinition {
  const problem = (text: string) => new BroadcastDefinitionError(`broadcast "${definition.id}": ${text}`);
  if (!ID.test(definition.id)) throw problem('the id is letters, digits and dashes, starting with a lower-case letter');
  if (definition.at !== undefined) {
    const valid = definition.atLocalTime ? /^\d{4}-\d{2}-\d{2}$/.test(definition.at) && DateTime.fromISO(definition.at).isValid : DateTime.fromISO(definition.at, { setZone: true }).isValid;
    if (!valid) throw problem(definition.atLocalTime ? `at "${definition.at}" is not a date (YYYY-MM-DD), which atLocalTime needs` : `at "${definition.at}" is not an ISO instant`);
  }
  if (definition.atLocalTime !== undefined && !LOCAL_TIME.test(definition.atLocalTime)) throw problem(`atLocalTime "${definition.atLocalTime}" is not HH:MM`);
  if (definition.fallbackTimeZone !== undefined && !isValidZone(definition.fallbackTimeZone)) throw problem(`"${definition.fallbackTimeZone}" is not a time zone`);
  const perMinute = definition.throttle?.perMinute;
  if (perMinute !== undefined && !(Number.isInteger(perMinute) && perMinute > 0)) throw problem('throttle.perMinute is a whole number above 0');
  if (definition.recurring !== undefined) {
    if (!definition.atLocalTime || definition.at !== undefined) throw problem('a recurring broadcast sends at a local time (atLocalTime) on each of its dates, and has no `at`');
    const why = recurrenceProblem(definition.recurring);
    if (why) throw problem(why);
  }
  for (const goal of definition.goals ?? []) {
    if (entersJourney(definition.send)) throw problem(`goal "${goal.id}": a broadcast into a journey counts the journey's goals`);
    if (!ID.test(goal.id)) throw problem(`goal "${goal.id}": the id is letters, digits and dashes, starting with a lower-case letter`);
    if (!goal.event.trim()) throw problem(`goal "${goal.id}": no event`);
    const span = typeof goal.within === 'number' ? goal.within : isOffset(goal.within) ? spanMs(goal.within) : NaN;
    if (!(span > 0)) throw problem(`goal "${goal.id}": within "${goal.within}" is not a span like "3 days"`);
  }
  if (new Set(definition.goals?.map((g) => g.id)).size !== (definition.goals?.length ?? 0)) throw problem('two goals have one id');
  return definition;
}

/**
 * The build's broadcasts must each send a template it has, or enter a journey of the build that
 * enters on it, to a segment it computes; and a journey entered by a broadcast needs that broadcast
 * to enter it. Checked at the worker's start.
 */
export function checkBroadcasts(
  broadcasts: readonly BroadcastDefinition[],
  builds: { hasTemplate(name: string, channel: string): boolean; segments: ReadonlySet<string>; journeys: readonly JourneyDefinition[] },
): void {
  const ids = new Set<string>();
  // The version new entrants get: each journey's highest.
  const latest = new Map(latestVersions(builds.journeys).map((j) => [j.id, j]));
  for (const b of broadcasts) {
    const problem = (text: string) => new BroadcastDefinitionError(`broadcast "${b.id}": ${text}`);
    if (ids.has(b.id)) throw new BroadcastDefinitionError(`broadcast "${b.id}" is defined twice`);
    ids.add(b.id);
    if (!builds.segments.has(b.segment)) throw problem(`segment "${b.segment}" is not in the build`);
    const { send } = b;
    if (!entersJourney(send)) {
      if (!builds.hasTemplate(send.template, send.channel)) throw problem(`no ${send.channel} template "${send.template}"`);
      continue;
    }
    const journey = latest.get(send.journey);
    if (!journey) throw problem(`journey "${send.journey}" is not in the build`);
    if (entryEvent(journey) !== broadcastEvent(b.id)) throw problem(`journey "${send.journey}" does not enter on it (its entry would be { broadcast: '${b.id}' })`);
  }
  for (const journey of latest.values()) {
    const by = journey.entry.broadcast;
    if (by === undefined) continue;
    const entering = broadcasts.find((b) => b.id === by);
    if (!entering || !entersJourney(entering.send) || entering.send.journey !== journey.id) {
      throw new BroadcastDefinitionError(`journey "${journey.id}" enters on broadcast "${by}", which ${entering ? 'enters another journey or sends a message' : 'is not in the build'}`);
    }
  }
}
