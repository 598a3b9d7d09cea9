/**
 * One handler per step kind. Each is a few lines: the runtime (sdk/interpreter.ts) supplies waiting,
 * delivery, profile reads and the step record; a handler only says what its kind of step means.
 */
import { condition, sleep } from '@temporalio/workflow';
import { evaluate, fieldsOf, scopesOf, traitsRead, valueAt, type Condition, type ConditionScope } from './conditions.js';
import { isIsoDate, isValidZone, targetTime } from './local-time.js';
import { chooseVariant } from './split.js';
import type { DeliveryStep, DurationRef, Step, StepKind, StepOf } from './steps.js';
import type { DeliveryOutcome, Duration, JourneyEvent, ProfileSnapshot } from './types.js';

/** What a step handler may use of the running journey. */
export interface StepRuntime {
  readonly journeyId: string;
  readonly userId: string;
  readonly fallbackTimeZone: string;
  duration(ref: DurationRef): Duration;
  record(stepId: string, outcome: string): void;
  runSteps(steps: Step[]): Promise<void>;
  /** The first unconsumed buffered event of that name matching `where`, consumed; or undefined. */
  takeEvent(event: string, where: Condition | undefined): JourneyEvent | undefined;
  scope(extra?: ConditionScope): ConditionScope;
  /** The customer's time zone and these traits (only what the step reads goes into the history). */
  profile(stepId: string, traits: readonly string[]): Promise<ProfileSnapshot>;
  /** Whether the customer is in each segment now, by segment id. */
  segments(stepId: string): Promise<Record<string, boolean>>;
  deliver(step: DeliveryStep): Promise<DeliveryOutcome>;
  updateProfile(stepId: string, set: Record<string, unknown>): Promise<void>;
}

/** Thrown by an `exit` step: the journey ends here, as completed. */
export class JourneyEnded extends Error {}

type Handlers = { [K in StepKind]: (step: StepOf<K>, run: StepRuntime) => Promise<void> };

/** Loads the profile, and the segment memberships, only for conditions that read them. */
async function scopeFor(run: StepRuntime, stepId: string, conditions: Condition[]): Promise<ConditionScope> {
  const reads = (scope: string) => conditions.some((c) => scopesOf(c).has(scope));
  return run.scope({
    ...(reads('profile') ? { profile: (await run.profile(stepId, traitsRead(conditions.flatMap(fieldsOf)))).traits } : {}),
    ...(reads('segments') ? { segments: await run.segments(stepId) } : {}),
  });
}

export const stepHandlers: Handlers = {
  async wait(step, run) {
    await sleep(run.duration(step.duration), { summary: step.id });
    run.record(step.id, 'waited');
  },

  async waitUntil(step, run) {
    const profile = await run.profile(step.id, step.date === undefined ? [] : traitsRead([step.date]));
    const zone = isValidZone(profile.timezone) ? profile.timezone : run.fallbackTimeZone;
    const date = step.date === undefined ? undefined : valueAt(run.scope({ profile: profile.traits }), step.date);
    if (step.date !== undefined && !isIsoDate(date)) {
      run.record(step.id, `skipped:no-date-in:${step.date}`);
      return;
    }
    const target = targetTime({ now: Date.now(), zone, date: date as string | undefined, offset: step.offset, atLocalTime: step.atLocalTime });
    await sleep(Math.max(0, target - Date.now()), { summary: step.id });
    run.record(step.id, `waited-until:${new Date(target).toISOString()} (${zone})`);
  },

  async waitForEvent(step, run) {
    let received: JourneyEvent | undefined;
    await condition(() => (received = run.takeEvent(step.event, step.where)) !== undefined, run.duration(step.timeout), { summary: step.id });
    run.record(step.id, received ? `received:${step.event}` : 'timed-out');
    await run.runSteps(received ? step.onEvent : step.onTimeout);
  },

  async send(step, run) {
    await run.deliver(step);
  },

  async audience(step, run) {
    await run.deliver(step);
  },

  async webhook(step, run) {
    await run.deliver(step);
  },

  async branch(step, run) {
    const scope = await scopeFor(run, step.id, step.cases.map((c) => c.when));
    const chosen = step.cases.find((c) => evaluate(c.when, scope));
    run.record(step.id, `branch:${chosen?.name ?? 'otherwise'}`);
    await run.runSteps(chosen?.steps ?? step.otherwise);
  },

  async split(step, run) {
    const variant = chooseVariant(step.variants, `${run.journeyId}:${step.id}:${run.userId}`);
    run.record(step.id, `variant:${variant.name}`);
    await run.runSteps(variant.steps);
  },

  async updateProfile(step, run) {
    await run.updateProfile(step.id, step.set);
    run.record(step.id, 'profile-updated');
  },

  async exit(step, run) {
    run.record(step.id, 'exit-step');
    throw new JourneyEnded();
  },
};
