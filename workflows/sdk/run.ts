/**
 * The journey runtime inside a Temporal workflow. Deterministic: time comes from the workflow clock,
 * all I/O goes through the delivery activity. Events are buffered from the first moment, so an event
 * that arrives before the journey reaches its wait is not lost, and an exit event cancels whatever
 * step is running: a journey never sits out a long wait after the customer converted.
 */
import {
  type ActivityOptions,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeliveryActivities } from '../../activities/delivery-activities.js';
import { eventSignal, stateQuery, type JourneyState } from './definitions.js';
import type { JourneyDefinition, JourneySettings, JourneyWorkflow } from './journey.js';
import type {
  AudienceRequest,
  Category,
  DeliveryOutcome,
  DeliveryRequest,
  Duration,
  JourneyEvent,
  JourneyInput,
  JourneyResult,
  MessageChannel,
  StepRecord,
} from './types.js';

export interface SendOptions {
  channel: MessageChannel;
  template: string;
  category: Category;
}

/** The step primitives a journey's `run` function is written with. Every step names a stable id. */
export interface Journey {
  readonly userId: string;
  readonly entryEvent: JourneyEvent;
  wait(stepId: string, duration: Duration): Promise<void>;
  /** The first matching event received since the journey started, or undefined after the timeout. */
  waitForEvent(stepId: string, event: string, options: { timeout: Duration }): Promise<JourneyEvent | undefined>;
  send(stepId: string, options: SendOptions): Promise<DeliveryOutcome>;
  /** Adds the user to a retargeting audience; an exit event removes them again. */
  addToAudience(stepId: string, audience: string): Promise<DeliveryOutcome>;
  removeFromAudience(stepId: string, audience: string): Promise<DeliveryOutcome>;
}

class JourneyRun implements Journey {
  readonly userId: string;
  readonly entryEvent: JourneyEvent;
  private readonly inbox: Array<{ event: JourneyEvent; consumed: boolean }> = [];
  private readonly seenMessageIds = new Set<string>();
  private readonly steps: StepRecord[] = [];
  private readonly occurrences = new Map<string, number>();
  private readonly audiences = new Set<string>();
  private readonly activityOptions: ActivityOptions;
  private currentStep: string | undefined;
  private exitEvent: JourneyEvent | undefined;
  private readonly body = new CancellationScope();

  constructor(
    private readonly definition: JourneyDefinition,
    input: JourneyInput,
    settings: JourneySettings,
  ) {
    this.userId = input.userId;
    this.entryEvent = input.entryEvent;
    this.seenMessageIds.add(input.entryEvent.messageId);
    this.activityOptions = {
      startToCloseTimeout: settings.sendTimeout ?? '1 minute',
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
    };
  }

  /** Signal handler: dedupes by messageId (CDPs and our own retries redeliver), then buffers or exits. */
  receive(event: JourneyEvent): void {
    if (this.seenMessageIds.has(event.messageId)) return;
    this.seenMessageIds.add(event.messageId);
    if (this.definition.exitOn.includes(event.event)) {
      this.exitEvent ??= event;
      this.body.cancel();
      return;
    }
    this.inbox.push({ event, consumed: false });
  }

  state(): JourneyState {
    return { currentStep: this.currentStep, steps: [...this.steps], audiences: [...this.audiences] };
  }

  async execute(settings: JourneySettings): Promise<JourneyResult> {
    try {
      if (!this.exitEvent) await this.body.run(() => this.definition.run(this, settings));
      if (!this.exitEvent) return { status: 'completed', steps: this.steps };
    } catch (err) {
      if (!isCancellation(err) || !this.exitEvent) throw err;
    }
    const exitEvent = this.exitEvent.event;
    this.record('exit', `exited:${exitEvent}`);
    // Leaving audiences must finish even though the journey body was cancelled.
    await CancellationScope.nonCancellable(async () => {
      for (const audience of [...this.audiences]) await this.removeFromAudience(`exit:leave:${audience}`, audience);
    });
    return { status: 'exited', exitEvent, steps: this.steps };
  }

  async wait(stepId: string, duration: Duration): Promise<void> {
    this.enter(stepId);
    await sleep(duration);
    this.record(stepId, 'waited');
  }

  async waitForEvent(stepId: string, event: string, options: { timeout: Duration }): Promise<JourneyEvent | undefined> {
    if (!this.definition.listensFor.includes(event)) {
      throw new Error(`journey "${this.definition.id}" step "${stepId}": "${event}" is not in listensFor`);
    }
    this.enter(stepId);
    const pending = () => this.inbox.find((item) => !item.consumed && item.event.event === event);
    const arrived = await condition(() => pending() !== undefined, options.timeout);
    const item = arrived ? pending() : undefined;
    if (item) item.consumed = true;
    this.record(stepId, item ? `received:${event}` : 'timed-out');
    return item?.event;
  }

  async send(stepId: string, options: SendOptions): Promise<DeliveryOutcome> {
    return this.deliver(stepId, { ...options });
  }

  async addToAudience(stepId: string, audience: string): Promise<DeliveryOutcome> {
    const outcome = await this.deliver(stepId, { channel: 'audience', audience, action: 'add', category: 'marketing' });
    if (outcome.delivered) this.audiences.add(audience);
    return outcome;
  }

  async removeFromAudience(stepId: string, audience: string): Promise<DeliveryOutcome> {
    const outcome = await this.deliver(stepId, {
      channel: 'audience',
      audience,
      action: 'remove',
      category: 'marketing',
    });
    this.audiences.delete(audience);
    return outcome;
  }

  private async deliver(
    stepId: string,
    what: Pick<DeliveryRequest, 'channel' | 'category'> &
      (Pick<SendOptions, 'template'> | Pick<AudienceRequest, 'audience' | 'action'>),
  ): Promise<DeliveryOutcome> {
    this.enter(stepId);
    const info = workflowInfo();
    const occurrence = (this.occurrences.get(stepId) ?? 0) + 1;
    this.occurrences.set(stepId, occurrence);
    const request = {
      ...what,
      idempotencyKey: `${info.workflowId}/${info.runId}/${stepId}#${occurrence}`,
      journeyId: this.definition.id,
      stepId,
      workflowId: info.workflowId,
      userId: this.userId,
      data: this.entryEvent.properties,
    } as DeliveryRequest;
    // Every send is the same activity type, so the step id is the activity id: replaying a history
    // against a journey whose sends were reordered then fails instead of mixing up step results.
    const { deliver } = proxyActivities<DeliveryActivities>({ ...this.activityOptions, activityId: `${stepId}#${occurrence}` });
    const outcome = await deliver(request);
    this.record(stepId, outcome.reason);
    return outcome;
  }

  private enter(stepId: string): void {
    this.currentStep = stepId;
  }

  private record(stepId: string, outcome: string): void {
    this.steps.push({ stepId, at: new Date().toISOString(), outcome });
  }
}

/** Turns a journey definition into its workflow function (one workflow type per journey). */
export function journeyWorkflow(definition: JourneyDefinition): JourneyWorkflow {
  return async (input: JourneyInput) => {
    const settings = { ...definition.defaults, ...input.settings } as JourneySettings;
    const run = new JourneyRun(definition, input, settings);
    setHandler(eventSignal, (event) => run.receive(event));
    setHandler(stateQuery, () => run.state());
    return run.execute(settings);
  };
}
