/**
 * Broadcasts as code: one message to every member of a segment, once per occurrence. Checked when
 * defined (a mistake fails the build's load, not a send), and plain data, so a run carries its
 * definition in its input: a deployment that changes the definition never changes a broadcast
 * already under way. No Node imports: the broadcast workflow reads this file in Temporal's sandbox.
 */
import { DateTime } from 'luxon';
import { isValidZone, LOCAL_TIME } from '../../workflows/sdk/local-time.js';
import type { Category, MessageChannel } from '../../workflows/sdk/types.js';

export interface BroadcastDefinition {
  id: string;
  description: string;
  /** The segment whose members, when the broadcast starts sending, are its audience (its latest version in the build). */
  segment: string;
  send: { channel: MessageChannel; template: string; category: Category };
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
  return definition;
}

/** The build's broadcasts must each send a template it has, to a segment it computes: checked at the worker's start. */
export function checkBroadcasts(broadcasts: readonly BroadcastDefinition[], builds: { hasTemplate(name: string, channel: string): boolean; segments: ReadonlySet<string> }): void {
  const ids = new Set<string>();
  for (const b of broadcasts) {
    if (ids.has(b.id)) throw new BroadcastDefinitionError(`broadcast "${b.id}" is defined twice`);
    ids.add(b.id);
    if (!builds.segments.has(b.segment)) throw new BroadcastDefinitionError(`broadcast "${b.id}": segment "${b.segment}" is not in the build`);
    if (!builds.hasTemplate(b.send.template, b.send.channel)) throw new BroadcastDefinitionError(`broadcast "${b.id}": no ${b.send.channel} template "${b.send.template}"`);
  }
}
