/**
 * Where a replay diverged, in the journey's own terms: the journey and version (from the history's
 * start) and the step the history was at when the SDK's nondeterminism error names an event. An
 * activity's id and a timer's summary carry their step; for any other event, the step is the one the
 * instance last recorded in its ThroughlineStep search attribute before it.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import proto, { type temporal } from '@temporalio/proto';
import { STEP } from '../workflows/sdk/search-attributes.js';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;

/** A payload's value, by the SDK's own converter; undefined when absent or not one it reads. */
const decoded = (payload: Payload | null | undefined): unknown => {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined;
  }
};

/** `cart-reminder-email#1`, `wait-for-order:profile#2` → the step id. */
const stepOfActivityId = (activityId: string) => activityId.replace(/(:profile)?#\d+$/, '');

/** CommonJS: its namespaces are on the default export. */
const { EventType } = proto.temporal.api.enums.v1;

/** The event kind as the SDK prints it: EVENT_TYPE_TIMER_STARTED → TimerStarted. */
function kindOf(event: HistoryEvent): string {
  const name = EventType[event.eventType ?? 0] ?? 'EVENT_TYPE_UNSPECIFIED';
  return name.replace(/^EVENT_TYPE_/, '').toLowerCase().replace(/(^|_)([a-z])/g, (_, _sep, c: string) => c.toUpperCase());
}

function ownStep(event: HistoryEvent): string | undefined {
  const activityId = event.activityTaskScheduledEventAttributes?.activityId;
  if (activityId) return stepOfActivityId(activityId);
  const summary = decoded(event.userMetadata?.summary);
  return typeof summary === 'string' ? summary : undefined;
}

/** The step the instance last recorded at or before `index`. */
function recordedStep(events: HistoryEvent[], index: number): string | undefined {
  for (let i = index; i >= 0; i--) {
    const step = decoded(events[i]!.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[STEP.name]);
    if (typeof step === 'string') return step;
  }
  return undefined;
}

/** The history's position named by an SDK error: an event id, or the id of an activity it scheduled. */
function namedEvent(events: HistoryEvent[], error: string): number {
  const eventId = /HistoryEvent\(id: (\d+)/.exec(error)?.[1] ?? /event[_ ]id:? (\d+)/i.exec(error)?.[1];
  if (eventId) return events.findIndex((e) => String(e.eventId) === eventId);
  const activityId = /scheduled event '([^']+)'/.exec(error)?.[1];
  if (activityId) return events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId);
  return -1;
}

/** "cartAbandonment v1, step "wait-before-reminder" (history event 7, TimerStarted)", as much as the history tells. */
export function divergence(history: History, error: string): string {
  const events = history.events ?? [];
  const input = decoded(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]) as { journeyId?: string; version?: number } | undefined;
  const journey = input?.journeyId ? `${input.journeyId} v${input.version}` : 'not a journey';
  const index = namedEvent(events, error);
  if (index < 0) return `${journey}, step not named by the error (last recorded: "${recordedStep(events, events.length - 1) ?? 'none'}")`;
  const event = events[index]!;
  const step = ownStep(event) ?? recordedStep(events, index);
  return `${journey}, step "${step ?? 'before the first step'}" (history event ${event.eventId}, ${kindOf(event)})`;
}
