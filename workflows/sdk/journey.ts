/**
 * The journey SDK: a journey is a definition (entry, exit events, default settings) plus a `run`
 * function written with the step primitives of `JourneyRun`. Each journey becomes one workflow type.
 */
import type { Journey } from './run.js';
import type { Duration, JourneyInput, JourneyResult } from './types.js';

export type JourneySettings = Record<string, Duration> & { sendTimeout?: Duration };

export interface JourneyDefinition<S extends JourneySettings = JourneySettings> {
  /** Stable id, also the Temporal workflow type: never rename a journey with instances in flight. */
  id: string;
  /** The event that puts a user into the journey. */
  trigger: { event: string };
  /** Events that end the journey at once, whatever step it is in. */
  exitOn: string[];
  /** Events the journey waits for with `waitForEvent`; routing delivers only declared events. */
  listensFor: string[];
  defaults: S;
  run(journey: Journey, settings: S): Promise<void>;
}

export type JourneyWorkflow = (input: JourneyInput) => Promise<JourneyResult>;

const IDENTIFIER = /^[a-z][A-Za-z0-9]*$/;

/** Checks a definition when it is loaded, so a broken journey fails at start-up with its name. */
export function defineJourney<S extends JourneySettings>(definition: JourneyDefinition<S>): JourneyDefinition {
  const fail = (problem: string) => {
    throw new Error(`journey "${definition.id}": ${problem}`);
  };
  if (!IDENTIFIER.test(definition.id)) fail('id must be a camelCase identifier (it is the workflow type)');
  if (definition.exitOn.includes(definition.trigger.event)) fail('the trigger event cannot also be an exit event');
  // The settings type only matters inside `run`; registries and the runtime hold any journey.
  return definition as unknown as JourneyDefinition;
}

/** The events a journey needs delivered after it started. */
export function eventsHeardBy(definition: JourneyDefinition): string[] {
  return [...new Set([...definition.exitOn, ...definition.listensFor])];
}
