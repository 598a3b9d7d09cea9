/**
 * Journey steps: plain, serialisable data made by the functions below, so a journey reads like its
 * brief and can still be validated, drawn as a graph and counted per step. Every step has a stable id.
 */
import type { Condition } from './conditions.js';
import type { Category, Duration, JsonValue, MessageChannel } from './types.js';

/** A duration given in the journey, or the name of a setting that deployments may override. */
export type DurationRef = Duration | { setting: string };

export const setting = (name: string): DurationRef => ({ setting: name });

export type Step =
  | { kind: 'wait'; id: string; duration: DurationRef }
  | { kind: 'waitUntil'; id: string; date?: string; offset?: string; atLocalTime?: string }
  | { kind: 'waitForEvent'; id: string; event: string; where?: Condition; timeout: DurationRef; onEvent: Step[]; onTimeout: Step[] }
  | { kind: 'send'; id: string; channel: MessageChannel; template: string; category: Category }
  | { kind: 'audience'; id: string; audience: string; action: 'add' | 'remove' }
  | { kind: 'webhook'; id: string; endpoint: string; body: JsonValue; timeout?: Duration; message?: boolean }
  | { kind: 'branch'; id: string; cases: Array<{ name: string; when: Condition; steps: Step[] }>; otherwise: Step[] }
  | { kind: 'split'; id: string; variants: Array<{ name: string; percent: number; steps: Step[] }> }
  | { kind: 'updateProfile'; id: string; set: Record<string, string | number | boolean | null> }
  | { kind: 'exit'; id: string };

export type StepKind = Step['kind'];
export type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;

/** The steps that go through the delivery path (one `deliver` activity each). */
export type DeliveryStep = StepOf<'send' | 'audience' | 'webhook'>;

export const wait = (id: string, duration: DurationRef): Step => ({ kind: 'wait', id, duration });

/**
 * Waits until a moment in the customer's time zone: `date` is a field holding an ISO date
 * (`event.delivered_at`, `profile.renewal_date`), `offset` moves it in calendar units ('3 days',
 * '-7 days'), `atLocalTime` ('10:00') sets the local time of day. Without `date`, the next such time.
 */
export const waitUntil = (id: string, target: { date?: string; offset?: string; atLocalTime?: string }): Step => ({
  kind: 'waitUntil',
  id,
  ...target,
});

export const waitForEvent = (
  id: string,
  options: { event: string; where?: Condition; timeout: DurationRef; onEvent?: Step[]; onTimeout?: Step[] },
): Step => ({ kind: 'waitForEvent', id, onEvent: [], onTimeout: [], ...options });

export const send = (id: string, message: { channel: MessageChannel; template: string; category: Category }): Step => ({
  kind: 'send',
  id,
  ...message,
});

/**
 * Calls an HTTP endpoint (named in WEBHOOK_ENDPOINTS, so each deployment sets its URL and secret)
 * with a JSON body whose strings are liquid templates over `profile`, `event` and `journey`. Signed
 * per Standard Webhooks, retried on 5xx and timeouts; the response status goes on the ledger.
 * `message: true` when the call delivers a message to the customer (a push or in-app message through
 * another system): attribution then counts it as a touch, as it counts emails and SMS.
 */
export const callWebhook = (id: string, call: { endpoint: string; body: JsonValue; timeout?: Duration; message?: boolean }): Step => ({
  kind: 'webhook',
  id,
  ...call,
});

export const addToAudience = (id: string, audience: string): Step => ({ kind: 'audience', id, audience, action: 'add' });
export const removeFromAudience = (id: string, audience: string): Step => ({ kind: 'audience', id, audience, action: 'remove' });

export const branch = (
  id: string,
  cases: Array<{ name: string; when: Condition; steps: Step[] }>,
  otherwise: Step[] = [],
): Step => ({ kind: 'branch', id, cases, otherwise });

/** A/B/n tests and holdouts: a variant with no steps is a control group. */
export const split = (id: string, variants: Array<{ name: string; percent: number; steps: Step[] }>): Step => ({
  kind: 'split',
  id,
  variants,
});

export const updateProfile = (id: string, set: Record<string, string | number | boolean | null>): Step => ({
  kind: 'updateProfile',
  id,
  set,
});

export const exit = (id: string): Step => ({ kind: 'exit', id });

/** The steps nested in a step (branches, variants, event outcomes), for walking the graph. */
export function childrenOf(step: Step): Array<{ label: string; steps: Step[] }> {
  switch (step.kind) {
    case 'waitForEvent':
      return [
        { label: `on ${step.event}`, steps: step.onEvent },
        { label: 'on timeout', steps: step.onTimeout },
      ];
    case 'branch':
      return [...step.cases.map((c) => ({ label: c.name, steps: c.steps })), { label: 'otherwise', steps: step.otherwise }];
    case 'split':
      return step.variants.map((v) => ({ label: `${v.name} ${v.percent}%`, steps: v.steps }));
    default:
      return [];
  }
}

export function* allSteps(steps: Step[]): Generator<Step> {
  for (const step of steps) {
    yield step;
    for (const child of childrenOf(step)) yield* allSteps(child.steps);
  }
}
