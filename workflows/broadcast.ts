/**
 * One occurrence of a broadcast as one durable workflow, in Temporal's batch-iterator shape: the
 * audience is taken once, into pages, when sending begins; the workflow then sends page by page,
 * a bounded number in flight, each recipient through the one delivery path (consent, suppression,
 * control group, holds, quiet hours, caps, ledger) with an idempotency key of (broadcast,
 * occurrence, customer), or into the broadcast's journey with that key as her entry event's id, and
 * continues as new between pages before its history grows large. So
 * the audience's size is bounded by MongoDB, not by Temporal's history limits; and a crash, a
 * restart or a repeat of the start command sends nobody twice.
 */
import { ActivityCancellationType, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BroadcastActivities } from '../activities/broadcast-activities.js';
import type { DeliveryActivities } from '../activities/delivery-activities.js';
import {
  BROADCAST_JOURNEY_VERSION,
  broadcastJourneyId,
  broadcastStatus,
  cancelBroadcast,
  pauseBroadcast,
  recipientSendKey,
  resumeBroadcast,
  statusOf,
  type AudienceGroup,
  type BroadcastInput,
  type BroadcastProgress,
  type BroadcastState,
  type BroadcastStatus,
} from '../broadcasts/sdk/run.js';
import { entersJourney } from '../broadcasts/sdk/broadcast.js';
import { EARLIEST_ZONE } from '../broadcasts/sdk/recurrence.js';
import { targetTime } from './sdk/local-time.js';
import { sendQueue } from './sdk/definitions.js';
import type { DeliveryOutcome, MessageRequest } from './sdk/types.js';

/**
 * Sends go in batches of BATCH, one activity each (deliverBatch), SENDS_IN_PARALLEL of a batch at a
 * time: 20 in flight, where the delivery path reaches its best rate, for a hundredth of Temporal's
 * work per send. Measured with bench:broadcast on 2 cores, 2,000 recipients: one send per activity
 * (20 at once) ran at 0.55 of the delivery path alone; batches of 5 × 4 at 0.61, 10 × 2 at 0.69,
 * 20 × 1 at 0.71 to 0.92 (0.65 at 10,000), each waiting for its slowest send.
 */
const BATCH = 100;
const SENDS_IN_PARALLEL = 20;
const BATCHES_IN_FLIGHT = 1;
/** Recipients of a time zone reached more than this late are skipped and counted, as Braze does. */
const LATE_AFTER_MS = 3_600_000;
/** Continue as new past this many history events (Temporal's limit is 51,200). */
const EVENTS_PER_RUN = 10_000;

const { takeAudience, audiencePage, deferRecipients } = proxyActivities<BroadcastActivities>({
  startToCloseTimeout: '1 hour',
  // The audience heartbeats per page: a dead worker's attempt is taken over this soon.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
});

/** The activities that take a batch's recipients, as the definition sends: each batch one activity. */
function batchSender(input: BroadcastInput): (userIds: string[], group: AudienceGroup) => Promise<DeliveryOutcome[]> {
  const { definition } = input;
  const { workflowId, taskQueue } = workflowInfo();
  const batchOptions = {
    startToCloseTimeout: '2 minutes',
    // It heartbeats every 2 s: a batch whose worker died is retried this soon.
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
    // A cancelled broadcast lets the batches in flight finish: a send cannot be taken back.
    cancellationType: ActivityCancellationType.ABANDON,
  } as const;
  const { send } = definition;
  if (entersJourney(send)) {
    const { enterJourney } = proxyActivities<BroadcastActivities>(batchOptions);
    return (userIds, group) =>
      enterJourney(
        { run: workflowId, broadcast: definition.id, occurrence: input.occurrence, journey: send.journey, segmentKey: input.segmentKey, at: new Date(group.moment).toISOString(), attempt: group.attempt, userIds },
        SENDS_IN_PARALLEL,
      );
  }
  const { deliverBatch } = proxyActivities<DeliveryActivities>({ ...batchOptions, taskQueue: sendQueue(taskQueue, send.channel) });
  const journeyId = broadcastJourneyId(definition.id);
  const version = BROADCAST_JOURNEY_VERSION;
  const requestFor = (userId: string, attempt: number): MessageRequest => ({
    channel: send.channel,
    template: send.template,
    category: send.category,
    idempotencyKey: recipientSendKey(workflowId, userId, attempt),
    journeyId,
    version,
    stepId: input.occurrence,
    workflowId,
    userId,
    data: {},
    firstAttemptAt: new Date().toISOString(),
    onlyIfMemberOf: input.segmentKey,
    // Each recipient's outcome is a record of the occurrence's step, so the rollups count its sends
    // beside its opens and clicks (keyed by recipient and attempt: a retried batch writes the same).
    progress: { before: [], own: { journeyId, version, workflowId, runId: userId, userId, seq: attempt, stepId: input.occurrence } },
  });
  return (userIds, group) => deliverBatch(userIds.map((userId) => requestFor(userId, group.attempt)), SENDS_IN_PARALLEL);
}

export async function broadcast(input: BroadcastInput): Promise<BroadcastStatus> {
  const { definition } = input;
  const info = workflowInfo();
  const progress: BroadcastProgress = input.progress ?? { counts: {}, paused: false, cancelled: false, throttle: { window: 0, begun: 0 } };
  let phase: BroadcastState = progress.groups ? 'sending' : 'scheduled';
  setHandler(pauseBroadcast, () => void (progress.paused = true));
  setHandler(resumeBroadcast, () => void (progress.paused = false));
  setHandler(cancelBroadcast, () => void (progress.cancelled = true));
  let startsAt: number | undefined;
  setHandler(broadcastStatus, () => statusOf(input, progress, Date.now(), phase, startsAt));
  const count = (reason: string, n = 1) => void (progress.counts[reason] = (progress.counts[reason] ?? 0) + n);
  /** Waits until `at`, or until cancelled; false when cancelled. */
  const waitUntil = async (at: number) => {
    if (at > Date.now()) await condition(() => progress.cancelled, at - Date.now());
    return !progress.cancelled;
  };
  const momentIn = (zone: string) => targetTime({ now: Date.now(), zone, date: input.at, atLocalTime: definition.atLocalTime });

  if (!progress.groups) {
    const start = definition.atLocalTime ? momentIn(EARLIEST_ZONE) : input.at ? Date.parse(input.at) : Date.now();
    startsAt = start;
    if (await waitUntil(start)) {
      phase = 'taking audience';
      const taken = await takeAudience({ run: info.workflowId, segment: input.segmentKey, byZone: !!definition.atLocalTime, fallbackTimeZone: definition.fallbackTimeZone ?? input.defaultTimeZone });
      progress.groups = taken.map((g) => ({ ...g, moment: definition.atLocalTime ? momentIn(g.name) : start, attempt: 1, nextPage: 0, done: 0, local: !!definition.atLocalTime }));
      progress.sendingSince = Date.now();
    } else progress.groups = [];
  }
  const groups = progress.groups;

  /**
   * The throttle spreads its rate over each minute, a second at a time (a minute at a time below 60
   * a minute), so it paces the sends rather than letting a minute's worth go at once.
   */
  const perMinute = definition.throttle?.perMinute;
  const windowMs = perMinute && perMinute < 60 ? 60_000 : 1_000;
  /** Takes room for one send in this window, if there is any. */
  function tryThrottle(): boolean {
    if (!perMinute) return true;
    const window = Math.floor(Date.now() / windowMs);
    if (progress.throttle.window !== window) progress.throttle = { window, begun: 0 };
    // Second s of a minute gets floor((s+1)·rate/60) − floor(s·rate/60): the minute's total is the rate.
    const second = window % 60;
    const budget = windowMs === 1_000 ? Math.floor(((second + 1) * perMinute) / 60) - Math.floor((second * perMinute) / 60) : perMinute;
    if (progress.throttle.begun >= budget) return false;
    progress.throttle.begun++;
    return true;
  }
  /** The next window (or a cancel): one timer, shared by the lanes. */
  let windowEnds: Promise<unknown> | undefined;
  const nextWindow = () => (windowEnds ??= condition(() => progress.cancelled, (Math.floor(Date.now() / windowMs) + 1) * windowMs - Date.now()).then(() => (windowEnds = undefined)));

  /** A batch's outcomes, in its order: its messages through the delivery path, or its recipients into the journey. */
  const sendBatch = batchSender(input);

  /** One page, in batches; returns who a policy deferred, by the minute they wait for. */
  async function sendPage(group: AudienceGroup, userIds: string[]): Promise<Map<number, string[]>> {
    const deferred = new Map<number, string[]>();
    let next = 0;
    /** The next batch: as many as the throttle has room for now (at least one, waiting for it if need be). */
    async function takeBatch(): Promise<string[]> {
      const batch: string[] = [];
      while (batch.length < BATCH && next < userIds.length && !progress.paused && !progress.cancelled) {
        if (tryThrottle()) batch.push(userIds[next++]!);
        else if (batch.length) break;
        else await nextWindow();
      }
      return batch;
    }
    const lane = async () => {
      for (;;) {
        await condition(() => !progress.paused || progress.cancelled);
        if (progress.cancelled || next >= userIds.length) return;
        const batch = await takeBatch();
        if (!batch.length) continue;
        const outcomes = await sendBatch(batch, group);
        outcomes.forEach((outcome: DeliveryOutcome, i) => {
          if (!outcome.deferUntil) return count(outcome.reason);
          // To the minute after, so one group (and one wait) holds all deferred to the same minute.
          const minute = Math.ceil(Date.parse(outcome.deferUntil) / 60_000) * 60_000;
          deferred.set(minute, [...(deferred.get(minute) ?? []), batch[i]!]);
        });
        group.done += batch.length;
      }
    };
    await Promise.all(Array.from({ length: BATCHES_IN_FLIGHT }, lane));
    return deferred;
  }

  async function defer(from: AudienceGroup, deferred: Map<number, string[]>): Promise<void> {
    for (const [moment, userIds] of deferred) {
      const name = `deferred@${new Date(moment).toISOString()}`;
      let group = groups.find((g) => g.name === name && g.attempt === from.attempt + 1);
      if (!group) groups.push((group = { name, moment, pages: 0, recipients: 0, attempt: from.attempt + 1, nextPage: 0, done: 0, local: false }));
      group.pages += await deferRecipients({ run: info.workflowId, group: name, firstPage: group.pages, userIds });
      group.recipients += userIds.length;
    }
  }

  for (;;) {
    const group = groups.filter((g) => g.done < g.recipients).sort((a, b) => a.moment - b.moment)[0];
    if (!group || progress.cancelled) break;
    phase = 'waiting';
    if (!(await waitUntil(group.moment))) break;
    phase = 'sending';
    if (group.local && Date.now() > group.moment + LATE_AFTER_MS) {
      count('skipped:late', group.recipients - group.done);
      group.done = group.recipients;
      continue;
    }
    const userIds = await audiencePage({ run: info.workflowId, group: group.name, page: group.nextPage });
    await defer(group, await sendPage(group, userIds));
    if (progress.cancelled) break;
    group.nextPage++;
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > EVENTS_PER_RUN) await continueAsNew<typeof broadcast>({ ...input, progress });
  }
  if (progress.cancelled) {
    const left = statusOf(input, progress, Date.now(), 'cancelled').pending;
    if (left) count('cancelled', left);
  }
  phase = 'done';
  return statusOf(input, progress, Date.now(), phase);
}
