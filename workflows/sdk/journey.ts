/**
 * A journey: who enters (trigger event, filter, re-entry, one instance per user or per key), what ends
 * it (exit events), what counts as success (goals), its settings and its steps. Definitions are data,
 * checked when they are loaded, so a broken journey fails at start-up with its name and step.
 */
import { fieldsOf, scopesOf, type Condition } from './conditions.js';
import { allSteps, type DurationRef, type Step } from './steps.js';
import { dateSegmentId, SEGMENT_EVENT_PREFIX, segmentEvent, segmentOfEvent, type SegmentTransition } from './segment-events.js';
import { BROADCAST_EVENT_PREFIX, broadcastEvent } from './broadcast-events.js';
import { isValidZone, LOCAL_TIME, parseOffset } from './local-time.js';
import type { Duration } from './types.js';

/**
 * What starts an instance: an incoming event; a change of the customer's membership of a segment
 * (segments/definitions/), delivered once per change (see segment-events.ts); or a date in the
 * profile (`profile.birthday` every year, `profile.renewal_date` with an offset of '-7 days') at a
 * local time, once per occurrence: the journey's own segment of customers whose date it is
 * (segments/definitions/date-entries.ts), entered on joining it; or a broadcast (broadcasts/), once per
 * recipient and occurrence.
 */
export type Entry = EntryRules & (EventEntry | SegmentEntry | DateEntry | BroadcastEntry);

interface EventEntry {
  event: string;
  segment?: never;
  on?: never;
  date?: never;
  broadcast?: never;
}

interface SegmentEntry {
  segment: string;
  on: SegmentTransition;
  event?: never;
  date?: never;
  broadcast?: never;
}

interface BroadcastEntry {
  /** The broadcast (broadcasts/definitions/) whose recipients enter, each once per occurrence. */
  broadcast: string;
  event?: never;
  segment?: never;
  on?: never;
  date?: never;
}

export interface DateEntry {
  /** A profile field holding an ISO date: `profile.birthday`. */
  date: string;
  /** Every year on the date's month and day (February 29 on the 28th in other years); default once. */
  every?: 'year';
  /** Before or after the date, in calendar units: '-7 days'. */
  offset?: string;
  /** The wall-clock time in the customer's time zone (the journey's fallback zone without one). */
  atLocalTime: string;
  event?: never;
  segment?: never;
  on?: never;
  broadcast?: never;
}

interface EntryRules {
  /**
   * Only events (and customers) matching this enter; `event.*`, `profile.*` and `segments.*` fields
   * (`inSegment('vip')`). A segment change's event carries `segment`, `version`, `decidedBy` (the condition that decided) and `cause`.
   */
  where?: Condition;
  /** One instance per value of this event property (e.g. 'cart_id') instead of one per user. */
  key?: string;
  /** Can a customer enter again after leaving? Default 'always'. */
  reentry?: { policy: 'always' } | { policy: 'never' } | { policy: 'cooldown'; cooldown: Duration };
  /** ISO timestamps bounding when the journey accepts entries. */
  window?: { from?: string; until?: string };
}

export interface Goal {
  id: string;
  event: string;
  /** Messages sent within this long before the goal event are credited with it. */
  within: Duration;
}

export interface JourneyDefinition {
  /** Stable id: part of every instance's workflow id. */
  id: string;
  /** Instances keep the version they entered with; new entrants get the latest. */
  version: number;
  description: string;
  entry: Entry;
  /** Events that end the journey at once, whatever step it is in. With `entry.key`, only the instance with the event's key. */
  exitOn: string[];
  goals: Goal[];
  /** Named durations the steps refer to with `setting(name)`; deployments override them. */
  settings: Record<string, Duration>;
  /** IANA zone for customers whose profile has none (time-of-day waits). */
  fallbackTimeZone: string;
  /** Who gets a frequency cap's last slot when journeys compete for it: higher wins (default 0). */
  priority: number;
  steps: Step[];
}

export type JourneyInputDefinition = Omit<JourneyDefinition, 'exitOn' | 'goals' | 'settings' | 'fallbackTimeZone' | 'priority'> &
  Partial<Pick<JourneyDefinition, 'exitOn' | 'goals' | 'settings' | 'fallbackTimeZone' | 'priority'>>;

/** The highest version of each journey in `versions`: the one its new entrants get. */
export function latestVersions(versions: readonly JourneyDefinition[]): JourneyDefinition[] {
  const latest = new Map<string, JourneyDefinition>();
  for (const journey of versions) {
    if ((latest.get(journey.id)?.version ?? 0) < journey.version) latest.set(journey.id, journey);
  }
  return [...latest.values()];
}

/** The event that starts an instance: the entry event, or the segment change's or broadcast's own. */
export function entryEvent(journey: Pick<JourneyDefinition, 'id' | 'entry'>): string {
  const { entry } = journey;
  if (entry.event !== undefined) return entry.event;
  if (entry.segment !== undefined) return segmentEvent(entry.segment, entry.on);
  if (entry.broadcast !== undefined) return broadcastEvent(entry.broadcast);
  return segmentEvent(dateSegmentId(journey.id), 'join');
}

const IDENTIFIER = /^[a-z][A-Za-z0-9]*$/;
const CHANNELS = new Set(['email', 'sms']);

export class JourneyDefinitionError extends Error {
  override name = 'JourneyDefinitionError';
}

function checkDuration(ref: DurationRef, settings: Record<string, Duration>, fail: (problem: string) => never): void {
  if (typeof ref === 'object' && !(ref.setting in settings)) fail(`refers to setting "${ref.setting}", which the journey does not define`);
}

function checkDateEntry(entry: DateEntry, fail: (problem: string) => never): void {
  if (!/^profile\.[A-Za-z0-9_]+$/.test(entry.date)) fail(`entry.date "${entry.date}" is not a profile field like "profile.birthday"`);
  if (!LOCAL_TIME.test(entry.atLocalTime)) fail(`entry.atLocalTime "${entry.atLocalTime}" is not HH:MM`);
  if (entry.offset !== undefined) {
    try {
      parseOffset(entry.offset);
    } catch (err) {
      fail(`entry.offset: ${(err as Error).message}`);
    }
  }
}

/** Checks everything that can be checked without running the journey. */
export function defineJourney(input: JourneyInputDefinition): JourneyDefinition {
  const journey: JourneyDefinition = { exitOn: [], goals: [], settings: {}, fallbackTimeZone: 'UTC', priority: 0, ...input };
  const where = `journey "${journey.id}" v${journey.version}`;
  const failJourney = (problem: string): never => {
    throw new JourneyDefinitionError(`${where}: ${problem}`);
  };
  if (!IDENTIFIER.test(journey.id)) failJourney('id must be a camelCase identifier');
  if (!Number.isInteger(journey.version) || journey.version < 1) failJourney('version must be a positive integer');
  const { entry } = journey;
  if (entry.event?.startsWith(SEGMENT_EVENT_PREFIX)) failJourney(`"${entry.event}" is a segment change: enter with { segment, on }`);
  if (entry.event?.startsWith(BROADCAST_EVENT_PREFIX)) failJourney(`"${entry.event}" is a broadcast's entry: enter with { broadcast }`);
  if (entry.event === undefined && entry.key) failJourney('a segment, date or broadcast entry has no event properties to key instances on');
  if (entry.date !== undefined) checkDateEntry(entry, failJourney);
  if (!isValidZone(journey.fallbackTimeZone)) failJourney(`fallbackTimeZone "${journey.fallbackTimeZone}" is not an IANA time zone`);
  if (journey.exitOn.includes(entryEvent(journey))) failJourney('the entry event cannot also be an exit event');
  if (journey.entry.where && [...scopesOf(journey.entry.where)].some((s) => !['event', 'profile', 'segments'].includes(s))) {
    failJourney('entry.where may only read event.*, profile.* and segments.* fields');
  }
  const seen = new Set<string>();
  for (const step of allSteps(journey.steps)) {
    const fail = (problem: string): never => failJourney(`step "${step.id}": ${problem}`);
    if (!step.id) failJourney('a step has no id');
    if (seen.has(step.id)) fail('duplicate step id');
    seen.add(step.id);
    switch (step.kind) {
      case 'wait':
        checkDuration(step.duration, journey.settings, fail);
        break;
      case 'waitForEvent':
        if (step.timeout === undefined || step.timeout === '') fail('waitForEvent needs a timeout');
        checkDuration(step.timeout, journey.settings, fail);
        break;
      case 'waitUntil':
        if (!step.date && !step.atLocalTime) fail('waitUntil needs a date field, a local time, or both');
        if (step.atLocalTime && !LOCAL_TIME.test(step.atLocalTime)) fail(`"${step.atLocalTime}" is not HH:MM`);
        break;
      case 'send':
        if (!CHANNELS.has(step.channel)) fail(`unknown channel "${step.channel}"`);
        break;
      case 'webhook':
        if (!/^[a-z0-9-]+$/.test(step.endpoint)) fail(`"${step.endpoint}" is not an endpoint name (a-z, 0-9, -)`);
        if (step.timeout !== undefined) checkDuration(step.timeout, journey.settings, fail);
        break;
      case 'split': {
        const total = step.variants.reduce((sum, v) => sum + v.percent, 0);
        if (step.variants.some((v) => v.percent <= 0)) fail('every variant needs a positive percentage');
        if (Math.abs(total - 100) > 1e-9) fail(`variant percentages add up to ${total}, not 100`);
        if (new Set(step.variants.map((v) => v.name)).size !== step.variants.length) fail('variant names must differ');
        break;
      }
      default:
        break;
    }
  }
  return journey;
}

/** Templates are the worker's: it checks every journey against them before it starts. */
export function checkTemplates(journey: JourneyDefinition, hasTemplate: (name: string, channel: string) => boolean): void {
  for (const step of allSteps(journey.steps)) {
    if (step.kind === 'send' && !hasTemplate(step.template, step.channel)) {
      throw new JourneyDefinitionError(
        `journey "${journey.id}" v${journey.version}: step "${step.id}": no ${step.channel} template "${step.template}"`,
      );
    }
  }
}

/** The segments a journey acts on or reads (entry, exits, goals, waits, `inSegment` in filters and branches): each must be computed by the deployment. */
export function segmentsNamed(journey: JourneyDefinition): string[] {
  const changes = [entryEvent(journey), ...eventsHeardBy(journey)].flatMap((name) => segmentOfEvent(name) ?? []);
  const conditions = [journey.entry.where, ...[...allSteps(journey.steps)].flatMap(conditionsOf)].filter((c): c is Condition => !!c);
  const read = conditions.flatMap(fieldsOf).flatMap((field) => (field.startsWith('segments.') ? [field.split('.')[1]!] : []));
  return [...new Set([...changes, ...read])];
}

function conditionsOf(step: Step): (Condition | undefined)[] {
  if (step.kind === 'branch') return step.cases.map((c) => c.when);
  if (step.kind === 'waitForEvent') return [step.where];
  return [];
}

/** Segments are the deployment's: a journey naming one it does not compute fails at start-up. */
export function checkSegments(journey: JourneyDefinition, computed: ReadonlySet<string>): void {
  const missing = segmentsNamed(journey).filter((id) => !computed.has(id));
  if (missing.length) throw new JourneyDefinitionError(`journey "${journey.id}" v${journey.version}: no segment "${missing.join('", "')}" in the build (segments/definitions/)`);
}

/** The events a running instance needs delivered: exits, goals and the events its steps wait for. */
export function eventsHeardBy(journey: JourneyDefinition): string[] {
  const waited = [...allSteps(journey.steps)].flatMap((s) => (s.kind === 'waitForEvent' ? [s.event] : []));
  return [...new Set([...journey.exitOn, ...journey.goals.map((g) => g.event), ...waited])];
}
