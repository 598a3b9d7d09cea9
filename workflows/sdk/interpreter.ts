/**
 * The journey workflow: one small interpreter runs every journey definition, one handler per step
 * kind (sdk/step-handlers.ts). Deterministic: time comes from the workflow clock, all I/O goes
 * through activities. Events are buffered from the first moment, so an event that arrives before the
 * journey reaches its wait is not lost; an exit event cancels whatever step is running.
 */
import {
  ActivityCancellationType,
  type ActivityOptions,
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeliveryActivities } from '../../activities/delivery-activities.js';
import type { JourneyActivities } from '../../activities/journey-activities.js';
import { evaluate, type Condition, type ConditionScope } from './conditions.js';
import { spanMs } from './local-time.js';
import { eventSignal, identifiedSignal, sendQueue, stateQuery, type JourneyState } from './definitions.js';
import type { JourneyDefinition } from './journey.js';
import { STEP, USER_ID } from './search-attributes.js';
import { JourneyEnded, stepHandlers, type StepRuntime } from './step-handlers.js';
import type { DeliveryStep, DurationRef, Step } from './steps.js';
import type {
  DeliveryOutcome,
  DeliveryRequest,
  Duration,
  EntryRecord,
  JourneyEvent,
  JourneyInput,
  JourneyResult,
  ProfileSnapshot,
  ProgressRecord,
  StepRecord,
} from './types.js';

const ACTIVITY_DEFAULTS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * Progress records are ordinary activities, not local ones: a local activity holds the workflow task
 * (and so the next step's commands, a send among them) until it completes, and a slow insert then
 * delays the journey by seconds; an activity is only scheduled with them.
 */
const { recordProgress } = proxyActivities<Pick<JourneyActivities, 'recordProgress'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Instances started before progress records existed replay without them (see `patched`). */
const PROGRESS_RECORDS_PATCH = 'progress-records';
const ABANDON_ON_EXIT_PATCH = 'abandon-activities-on-exit';
/** Instances started before progress records rode with sends write them all with recordProgress. */
const PROGRESS_WITH_SENDS_PATCH = 'progress-with-sends';
/**
 * How many microtask turns a burst's progress write waits before it is scheduled on its own: enough
 * for the step after a wait to reach its send, which then carries the records instead. Fewer only
 * costs an activity (the write happens either way), never a record.
 */
const TURNS_BEFORE_OWN_WRITE = 10;

class JourneyRun implements StepRuntime {
  readonly journeyId: string;
  userId: string;
  readonly fallbackTimeZone: string;
  private readonly inbox: Array<{ event: JourneyEvent; consumed: boolean }> = [];
  private readonly seenMessageIds = new Set<string>();
  private readonly steps: StepRecord[] = [];
  private readonly occurrences = new Map<string, number>();
  private readonly audiences = new Set<string>();
  private readonly background: Array<Promise<unknown>> = [];
  private readonly body = new CancellationScope();
  private readonly settings: Record<string, Duration>;
  private readonly activityOptions: ActivityOptions;
  private lastEvent: JourneyEvent;
  private currentStep: string | undefined;
  /** The step entered whose outcome (the one the funnel counts) is not recorded yet. */
  private openStep: string | undefined;
  private exitEvent: JourneyEvent | undefined;
  /** Records not yet written for the funnels; written in one local activity per burst of steps. */
  private unreported: ProgressRecord[] | undefined;
  private progressSeq = 0;

  constructor(
    private readonly definition: JourneyDefinition,
    private readonly input: JourneyInput,
  ) {
    this.journeyId = definition.id;
    this.userId = input.userId;
    this.fallbackTimeZone = definition.fallbackTimeZone;
    this.lastEvent = input.entryEvent;
    this.seenMessageIds.add(input.entryEvent.messageId);
    this.settings = { ...definition.settings, ...input.settings };
    this.activityOptions = { ...ACTIVITY_DEFAULTS, startToCloseTimeout: this.settings.sendTimeout ?? '1 minute' };
  }

  /** Signal handler: dedupes by messageId (CDPs and our own retries redeliver), then buffers or exits. */
  receive(event: JourneyEvent): void {
    if (this.seenMessageIds.has(event.messageId) || !this.sameInstance(event)) return;
    this.seenMessageIds.add(event.messageId);
    for (const goal of this.definition.goals.filter((g) => g.event === event.event)) this.recordGoal(goal, event);
    if (this.definition.exitOn.includes(event.event)) {
      this.exitEvent ??= event;
      this.body.cancel();
      return;
    }
    this.inbox.push({ event, consumed: false });
  }

  /** In a journey keyed by (say) cart_id, an event about another cart is not this instance's. */
  private sameInstance(event: JourneyEvent): boolean {
    const key = this.definition.entry.key;
    return key === undefined || this.input.key === undefined || String(event.properties[key]) === this.input.key;
  }

  /** From here on, profile reads, sends and the ledger are the known customer's. */
  identify(userId: string): void {
    if (userId === this.userId) return;
    this.userId = userId;
    upsertSearchAttributes([{ key: USER_ID, value: userId }]);
  }

  state(): JourneyState {
    return {
      journeyId: this.journeyId,
      version: this.definition.version,
      currentStep: this.currentStep,
      steps: [...this.steps],
      audiences: [...this.audiences],
      entry: this.entry(),
    };
  }

  private entry(): EntryRecord {
    const { event, messageId, timestamp } = this.input.entryEvent;
    return { event, messageId, at: timestamp };
  }

  async execute(): Promise<JourneyResult> {
    if (patched(PROGRESS_RECORDS_PATCH)) {
      this.unreported = [];
      this.report({ stepId: 'entry', at: new Date().toISOString(), outcome: 'entered' });
    }
    let result: JourneyResult | undefined;
    try {
      if (!this.exitEvent) await this.body.run(() => this.runSteps(this.definition.steps));
    } catch (err) {
      if (err instanceof JourneyEnded) result = { status: 'completed', steps: this.steps };
      else if (!isCancellation(err) || !this.exitEvent) throw err;
    }
    if (!this.exitEvent) result ??= { status: 'completed', steps: this.steps };
    else result = await this.leave(this.exitEvent);
    if (result.status === 'completed') this.report({ stepId: 'end', at: new Date().toISOString(), outcome: 'completed' });
    await Promise.all(this.background);
    return { ...result, entry: this.entry() };
  }

  private async leave(exitEvent: JourneyEvent): Promise<JourneyResult> {
    this.record('exit', `exited:${exitEvent.event}`, this.openStep);
    // Leaving audiences must finish even though the journey body was cancelled.
    await CancellationScope.nonCancellable(async () => {
      for (const audience of [...this.audiences]) {
        await this.deliver({ kind: 'audience', id: `exit:leave:${audience}`, audience, action: 'remove' });
      }
    });
    return { status: 'exited', exitEvent: exitEvent.event, steps: this.steps };
  }

  async runSteps(steps: Step[]): Promise<void> {
    for (const step of steps) {
      this.enter(step.id);
      await (stepHandlers[step.kind] as (s: Step, run: StepRuntime) => Promise<void>)(step, this);
    }
  }

  duration(ref: DurationRef): Duration {
    return typeof ref === 'object' ? this.settings[ref.setting]! : ref;
  }

  takeEvent(name: string, where: Condition | undefined): JourneyEvent | undefined {
    const item = this.inbox.find(
      (i) => !i.consumed && i.event.event === name && (!where || evaluate(where, this.scope({ event: i.event.properties }))),
    );
    if (!item) return undefined;
    item.consumed = true;
    this.lastEvent = item.event;
    return item.event;
  }

  scope(extra: ConditionScope = {}): ConditionScope {
    return { entry: this.input.entryEvent.properties, event: this.lastEvent.properties, ...extra };
  }

  async profile(stepId: string, traits: readonly string[]): Promise<ProfileSnapshot> {
    const { profileSnapshot } = this.activities(`${stepId}:profile`);
    return profileSnapshot(this.userId, traits);
  }

  async segments(stepId: string): Promise<Record<string, boolean>> {
    const { segmentMemberships } = this.activities(`${stepId}:segments`);
    return segmentMemberships(this.userId);
  }

  async updateProfile(stepId: string, set: Record<string, unknown>): Promise<void> {
    const { updateProfile } = this.activities(stepId);
    await updateProfile(this.userId, set);
  }

  /**
   * One send step. A deferred decision (quiet hours, a cap with room later) is a durable wait and a new
   * attempt, under a new occurrence, so the ledger keeps every decision and its reason.
   */
  async deliver(step: DeliveryStep): Promise<DeliveryOutcome> {
    const info = workflowInfo();
    const what = this.whatToDeliver(step);
    const firstAttemptAt = new Date().toISOString();
    for (;;) {
      const occurrence = this.nextOccurrence(step.id);
      const request = {
        ...what,
        idempotencyKey: `${info.workflowId}/${info.runId}/${step.id}#${occurrence}`,
        journeyId: this.journeyId,
        stepId: step.id,
        workflowId: info.workflowId,
        userId: this.userId,
        data: this.input.entryEvent.properties,
        firstAttemptAt,
        priority: this.definition.priority,
        version: this.definition.version,
      } as DeliveryRequest;
      const progress = this.unreported && patched(PROGRESS_WITH_SENDS_PATCH) ? this.progressForSend(step.id) : undefined;
      // With its record: the activity writes the outcome, even after an exit abandoned it.
      if (progress) this.settle(step.id, '');
      const outcome = await this.activities(step.id, occurrence, sendQueue(info.taskQueue, what.channel)).deliver({ ...request, ...(progress ? { progress } : {}) });
      if (progress) this.steps.push({ stepId: step.id, at: new Date().toISOString(), outcome: outcome.reason });
      else this.record(step.id, outcome.reason);
      if (outcome.deferUntil && step.id === this.currentStep) this.openStep = step.id;
      if (outcome.deferUntil) {
        // At least a second apart, so a worker clock that disagrees with the workflow's cannot spin.
        await sleep(Math.max(1_000, Date.parse(outcome.deferUntil) - Date.now()), { summary: step.id });
        continue;
      }
      if (step.kind === 'audience' && step.action === 'add' && outcome.delivered) this.audiences.add(step.audience);
      if (step.kind === 'audience' && step.action === 'remove') this.audiences.delete(step.audience);
      return outcome;
    }
  }

  private whatToDeliver(step: DeliveryStep) {
    switch (step.kind) {
      case 'send':
        return { channel: step.channel, template: step.template, category: step.category };
      case 'audience':
        return { channel: 'audience' as const, audience: step.audience, action: step.action, category: 'marketing' as const };
      case 'webhook':
        // A call to a system, not a message to the customer: no consent, quiet hours or caps.
        return { channel: 'webhook' as const, endpoint: step.endpoint, body: step.body, timeoutMs: spanMs(step.timeout ?? '10s'), category: 'transactional' as const };
    }
  }

  /**
   * Activities named by step: the step id is the activity id, so replaying a history against a journey
   * whose steps were reordered fails with both step ids named instead of mixing up step results.
   */
  private activities(stepId: string, occurrence = this.nextOccurrence(stepId), taskQueue?: string) {
    // An exit stops waiting for a step's activity but lets it finish (a send cannot be taken back,
    // a profile read is harmless) instead of asking the server to cancel it. Instances started
    // before this asked, and replay as they ran.
    const cancellationType = patched(ABANDON_ON_EXIT_PATCH) ? ActivityCancellationType.ABANDON : ActivityCancellationType.TRY_CANCEL;
    return proxyActivities<DeliveryActivities & JourneyActivities>({ ...this.activityOptions, activityId: `${stepId}#${occurrence}`, taskQueue, cancellationType });
  }

  private nextOccurrence(stepId: string): number {
    const occurrence = (this.occurrences.get(stepId) ?? 0) + 1;
    this.occurrences.set(stepId, occurrence);
    return occurrence;
  }

  private recordGoal(goal: JourneyDefinition['goals'][number], event: JourneyEvent): void {
    const windowStart = Date.parse(event.timestamp) - spanMs(goal.within);
    const attributedTo = this.steps
      .filter((s) => s.outcome === 'sent' && Date.parse(s.at) >= windowStart && !s.stepId.startsWith('exit:'))
      .map((s) => s.stepId);
    this.record(`goal:${goal.id}`, `converted:${event.event}`);
    const { recordConversion } = this.activities(`goal:${goal.id}`);
    const conversion = {
      journeyId: this.journeyId,
      version: this.definition.version,
      workflowId: workflowInfo().workflowId,
      userId: this.userId,
      goal: goal.id,
      event,
      enteredAt: this.input.entryEvent.timestamp,
      windowStart: new Date(windowStart).toISOString(),
      steps: [...this.steps],
      attributedTo,
    };
    this.background.push(CancellationScope.nonCancellable(() => recordConversion(conversion)));
  }

  private enter(stepId: string): void {
    this.currentStep = stepId;
    this.openStep = stepId;
    upsertSearchAttributes([{ key: STEP, value: stepId }]);
  }

  record(stepId: string, outcome: string, inStep?: string): void {
    const step = { stepId, at: new Date().toISOString(), outcome, ...(inStep ? { inStep } : {}) };
    this.settle(stepId, outcome);
    this.steps.push(step);
    this.report(step);
  }

  /** A deferral is not the step's outcome: the funnel counts the decision that ends it. */
  private settle(stepId: string, outcome: string): void {
    if (stepId === this.openStep && !outcome.startsWith('deferred:')) this.openStep = undefined;
  }

  /** The records so far and the send's own (its outcome to come), for the send to write (see DeliveryRequest). */
  private progressForSend(stepId: string): NonNullable<DeliveryRequest['progress']> {
    const before = this.unreported!.splice(0);
    const { at: _at, outcome: _outcome, ...own } = this.progressRecord({ stepId, at: '', outcome: '' });
    return { before, own };
  }

  private progressRecord(step: StepRecord): ProgressRecord {
    const info = workflowInfo();
    return {
      ...step,
      journeyId: this.journeyId,
      version: this.definition.version,
      workflowId: info.workflowId,
      runId: info.runId,
      userId: this.userId,
      seq: this.progressSeq++,
    };
  }

  /**
   * Queues a record for the funnels; the steps taken in one go (up to the next wait) are written
   * together, by a write that no cancellation stops: an exit must not lose the records before it.
   */
  private report(step: StepRecord): void {
    if (!this.unreported) return;
    const first = this.unreported.length === 0;
    this.unreported.push(this.progressRecord(step));
    if (!first) return;
    const turns = patched(PROGRESS_WITH_SENDS_PATCH) ? TURNS_BEFORE_OWN_WRITE : 1;
    this.background.push(
      CancellationScope.nonCancellable(async () => {
        // Let the rest of this burst queue up first (and a send take the records with it).
        for (let turn = 0; turn < turns; turn++) await Promise.resolve();
        const records = this.unreported!.splice(0);
        if (records.length > 0) await recordProgress(records);
      }),
    );
  }
}

/** The workflow that runs every instance of the given journey versions. */
export function journeyWorkflow(versions: readonly JourneyDefinition[]): (input: JourneyInput) => Promise<JourneyResult> {
  return async function journey(input) {
    const definition = versions.find((v) => v.id === input.journeyId && v.version === input.version);
    // A missing version fails the workflow task, which Temporal retries: deploying the version fixes it.
    if (!definition) throw new Error(`journey "${input.journeyId}" v${input.version} is not in this build`);
    const run = new JourneyRun(definition, input);
    setHandler(eventSignal, (event) => run.receive(event));
    setHandler(identifiedSignal, (userId) => run.identify(userId));
    setHandler(stateQuery, () => run.state());
    return run.execute();
  };
}
