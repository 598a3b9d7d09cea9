/**
 * The one delivery path. Every send of every journey and channel is one call of `deliver`: policy
 * decision, render, claim, provider call, ledger completion. Idempotent under Temporal retries: the
 * ledger's unique insert returns a retried or replayed step's recorded outcome, and a send the
 * provider may have accepted is never repeated: its outcome is recorded, or left as unknown for an
 * operator (see `unknown` in the CLI).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pMap from 'p-map';
import { activityInfo, Context, heartbeat, log as activityLog, sleep } from '@temporalio/activity';
import type { Database } from '../store/db.js';
import { releaseGrants } from '../store/frequency-grants.js';
import { insertProgress } from '../store/journey-progress.js';
import { inSpan } from '../platform/tracing.js';
import { capGrants, deliveryDecisions, reasonKind, providerErrors, providerSeconds, unknownOutcomes } from '../platform/metrics.js';
import { completeSend, insertEntry, outcomeOf, releaseClaim, UNKNOWN_OUTCOME, type LedgerDoc } from '../store/ledger.js';
import type { Profile } from '../store/profiles.js';
import { addSuppression } from '../store/suppressions.js';
import type { DeliveryOutcome, DeliveryRequest } from '../workflows/sdk/types.js';
import { toE164 } from './phone-number.js';
import { decide, type Policy } from './policy.js';
import type { AudienceChange } from './audience-membership.js';
import type { EmailMessage } from './providers/email.js';
import { NotSentError, PermanentDeliveryError, type ChannelProvider, type HandOver, type Receipt } from './providers/provider.js';
import type { SmsMessage } from './providers/sms.js';
import type { WebhookCall, WebhookEndpoint } from './providers/webhook-call.js';
import { templateContext, TemplateError, type TemplateRenderer } from './templates.js';
import { unsubscribeUrl as buildUnsubscribeUrl } from './unsubscribe-token.js';
import { trackEmail, trackSms, type TrackingKeys } from './engagement-links.js';
import { saveTrackedSend } from '../store/engagement.js';
import { sendToken } from './verp.js';

export interface Providers {
  email: ChannelProvider<EmailMessage>;
  sms: ChannelProvider<SmsMessage>;
  audience: ChannelProvider<AudienceChange>;
  webhook: ChannelProvider<WebhookCall>;
}

/** A webhook step names an endpoint this deployment has not configured. */
class UnknownEndpointError extends Error {}

export interface DeliveryDeps {
  db: Database;
  providers: Providers;
  templates: TemplateRenderer;
  policy: Policy;
  /** Builds each marketing email's signed unsubscribe link. */
  unsubscribe: { baseUrl: string; secret: string };
  /** WEBHOOK_ENDPOINTS: where webhook steps' named endpoints are. */
  webhookEndpoints: Record<string, WebhookEndpoint>;
  /** Signs tracked links and open pixels (see engagement-links.ts). */
  tracking: TrackingKeys;
}

export interface DeliveryActivities {
  deliver(request: DeliveryRequest): Promise<DeliveryOutcome>;
  /**
   * Several sends in one activity, `inParallel` at a time (a broadcast's: one activity's cost in
   * Temporal for many sends), each exactly as `deliver` would. If any fails, the attempt fails and Temporal
   * retries the batch: a send already decided meets its ledger entry and returns its outcome.
   */
  deliverBatch(requests: DeliveryRequest[], inParallel: number): Promise<DeliveryOutcome[]>;
}

const SENT: DeliveryOutcome = { delivered: true, reason: 'sent' };

/** A provider's refusal for good, as the ledger and a suppression record it. */
type Refusal = { code: string; message: string; suppress?: PermanentDeliveryError['suppress'] };

/**
 * What an attempt knows that the database may not have heard yet, kept in its heartbeat details:
 * Temporal hands them to the next attempt of the step, even when the database was down throughout.
 */
interface AttemptNotes {
  /** The provider's answer: accepted (a receipt) or refused for good. */
  result?: { sent: Receipt } | { failed: Refusal };
  /**
   * Every attempt whose claim was never handed to the provider (its insert or send certainly failed).
   * All of them, not the last: a claim whose insert landed unheard may be met by any later attempt,
   * after others have failed to claim in between.
   */
  unusedClaims?: number[];
}

/** A batch's heartbeat details: each send's notes under its idempotency key. */
interface BatchNotes {
  batch: Record<string, AttemptNotes>;
}

/**
 * The send a batch's activity is working on (see deliverBatch): its sends share one activity, and so
 * one set of heartbeat details, so each keeps its notes under its own key. A lone send has none.
 */
const sendOfBatch = new AsyncLocalStorage<string>();

/** What this attempt has noted so far, by its activity context (an attempt may note more than once). */
const notedThisAttempt = new WeakMap<Context, AttemptNotes | BatchNotes>();

/** How many sends a batch may hold (its heartbeat carries a note for each). */
export const BATCH_SENDS_LIMIT = 200;
/** A batch heartbeats this often; its caller's heartbeat timeout is a few of these. */
export const BATCH_HEARTBEAT_MS = 2_000;

/** Every note of the activity's attempts so far: one send's, or a batch's. */
const allNotes = (): AttemptNotes | BatchNotes =>
  notedThisAttempt.get(Context.current()) ?? (activityInfo().heartbeatDetails as AttemptNotes | BatchNotes | undefined) ?? {};

/** Earlier attempts' notes, and this one's, for the send in hand. */
const notesSoFar = (): AttemptNotes => {
  const key = sendOfBatch.getStore();
  const all = allNotes();
  return key === undefined ? (all as AttemptNotes) : ((all as Partial<BatchNotes>).batch?.[key] ?? {});
};

/** Adds to the notes: Temporal keeps only the last heartbeat, so everything noted before is carried on. */
const note = (notes: AttemptNotes) => {
  const key = sendOfBatch.getStore();
  const mine = { ...notesSoFar(), ...notes } satisfies AttemptNotes;
  const all = key === undefined ? mine : { batch: { ...(allNotes() as Partial<BatchNotes>).batch, [key]: mine } };
  notedThisAttempt.set(Context.current(), all);
  heartbeat(all);
};

/** Notes that this attempt's claim was never handed to the provider. */
const noteUnusedClaim = () => note({ unusedClaims: [...(notesSoFar().unusedClaims ?? []), activityInfo().attempt] });

/** The step already has an entry from an earlier attempt: its outcome stands and nothing is sent. */
class SettledEarlier extends Error {
  constructor(readonly outcome: DeliveryOutcome, readonly entry: LedgerDoc) {
    super('settled by an earlier attempt');
  }
}

/**
 * When Temporal gives up on this attempt and schedules the next (start-to-close, counted here from
 * when the attempt was scheduled, so never later than the server's), with a second to spare.
 */
function attemptDeadline(): number {
  const info = activityInfo();
  return info.currentAttemptScheduledTimestampMs + info.startToCloseTimeoutMs - 1_000;
}

/**
 * Retries a write that records what already happened at the provider until it lands, while this
 * attempt has time; then throws, and the next attempt finishes it from the heartbeat notes.
 */
async function durably(write: () => Promise<unknown>): Promise<void> {
  const deadline = attemptDeadline();
  for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
    try {
      await write();
      return;
    } catch (err) {
      if (Date.now() + wait > deadline) throw err;
      activityLog.warn('ledger write failed; retrying', { error: (err as Error).message });
      await sleep(wait);
    }
  }
}

export function createDeliveryActivities(deps: DeliveryDeps): DeliveryActivities {
  const { ledger, grants, suppressions } = deps.db.collections;

  /** Resolves the request to one provider call, rendering templates where the channel has them. */
  async function prepare(request: DeliveryRequest, profile: Profile | undefined): Promise<(handOver: HandOver) => Promise<Receipt>> {
    const key = request.idempotencyKey;
    if (request.channel === 'audience') {
      const change = { audience: request.audience, action: request.action, userId: request.userId, email: profile?.email, phone: profile?.phone };
      return (handOver) => deps.providers.audience.send(change, key, handOver);
    }
    if (request.channel === 'webhook') {
      const endpoint = deps.webhookEndpoints[request.endpoint];
      if (!endpoint) throw new UnknownEndpointError(`no endpoint "${request.endpoint}" in WEBHOOK_ENDPOINTS`);
      const context = templateContext({ traits: profile?.traits ?? {}, event: request.data, journey: { id: request.journeyId, step: request.stepId } });
      const body = await deps.templates.renderJson(request.body, context, `webhook step "${request.stepId}" body`);
      return (handOver) => deps.providers.webhook.send({ endpoint, body, timeoutMs: request.timeoutMs }, key, handOver);
    }
    const unsubscribeUrl =
      request.category === 'transactional' || request.channel !== 'email'
        ? undefined
        : buildUnsubscribeUrl(deps.unsubscribe.baseUrl, deps.unsubscribe.secret, { userId: request.userId, channel: 'email', category: request.category });
    const context = templateContext({ traits: profile?.traits ?? {}, event: request.data, journey: { id: request.journeyId, step: request.stepId }, unsubscribeUrl });
    const rendered = await deps.templates.render(request.template, request.channel, context);
    const tracking = deps.templates.tracking(request.template);
    const token = sendToken(key);
    const trackedSend = { _id: token, ledgerKey: key, userId: request.userId, journeyId: request.journeyId, version: request.version, stepId: request.stepId, channel: request.channel, template: request.template, at: new Date() };
    if (rendered.channel === 'email') {
      const { channel: _channel, ...content } = rendered;
      const tracked = trackEmail(content, {
        keys: deps.tracking,
        token,
        clicks: tracking.clicks ?? true,
        openPixel: tracking.opens ?? request.category !== 'transactional',
        untracked: unsubscribeUrl ? [unsubscribeUrl] : [],
      });
      await saveTrackedSend(deps.db.collections, { ...trackedSend, links: tracked.links }, []);
      return (handOver) => deps.providers.email.send({ to: profile!.email!, ...content, html: tracked.html, text: tracked.text, unsubscribeUrl }, key, handOver);
    }
    const tracked = tracking.clicks === false ? { body: rendered.body, links: [], codes: [] } : trackSms(rendered.body, { keys: deps.tracking, token });
    if (tracked.links.length) await saveTrackedSend(deps.db.collections, { ...trackedSend, links: tracked.links }, tracked.codes);
    return (handOver) => deps.providers.sms.send({ to: toE164(profile!.phone!)!, body: tracked.body }, key, handOver);
  }

  /** The provider refused for good: the ledger says why, and a hard bounce or STOP suppresses. */
  async function recordRefusal(request: DeliveryRequest, failed: Refusal): Promise<DeliveryOutcome> {
    const outcome = { delivered: false, reason: `failed:${failed.code}` };
    if (failed.suppress && request.channel !== 'webhook') {
      const suppression = { userId: request.userId, channel: request.channel, reason: failed.suppress, source: `provider:${failed.code}` };
      await durably(() => addSuppression(suppressions, suppression));
    }
    await durably(() => completeSend(deps.db.collections, request.idempotencyKey, outcome, { detail: failed.message }));
    return outcome;
  }

  /**
   * The outcome of a step that already has a ledger entry: the one recorded, or what an earlier
   * attempt's notes say happened at the provider. A claim still 'sending' with no such note means an
   * earlier attempt died while the provider may have had the message: unknown, never sent again.
   * Undefined when the claim was certainly never used (or the provider is idempotent): it is dropped
   * and the caller claims again.
   */
  async function settleEarlierAttempt(request: DeliveryRequest, entry: LedgerDoc): Promise<DeliveryOutcome | undefined> {
    if (entry.status === 'done') return outcomeOf(entry);
    const notes = notesSoFar();
    if (notes.result && 'sent' in notes.result) {
      const receipt = notes.result.sent;
      await durably(() => completeSend(deps.db.collections, entry._id, SENT, { providerMessageId: receipt.providerMessageId, detail: receipt.detail }));
      return SENT;
    }
    if (notes.result) return recordRefusal(request, notes.result.failed);
    if (deps.providers[request.channel].idempotent || (entry.attempt !== undefined && notes.unusedClaims?.includes(entry.attempt))) {
      await releaseClaim(ledger, entry._id);
      return undefined;
    }
    return recordUnknown(request, 'an earlier attempt died while the provider may have had the message; not sent again');
  }

  async function recordUnknown(request: DeliveryRequest, detail: string): Promise<DeliveryOutcome> {
    const outcome = { delivered: false, reason: UNKNOWN_OUTCOME };
    await completeSend(deps.db.collections, request.idempotencyKey, outcome, { detail, request });
    unknownOutcomes.inc({ channel: request.channel });
    activityLog.warn('send outcome unknown: left for an operator (unknown list)', { key: request.idempotencyKey });
    return outcome;
  }

  /**
   * Records a decision not to send; if an earlier attempt of the step left an entry, its outcome
   * stands (`ours` false).
   */
  async function record(request: DeliveryRequest, outcome: DeliveryOutcome, detail?: string): Promise<{ outcome: DeliveryOutcome; ours: boolean }> {
    for (;;) {
      const earlier = await insertEntry(deps.db.collections, request, { status: 'done', outcome, detail });
      if (!earlier) return { outcome, ours: true };
      const settled = await settleEarlierAttempt(request, earlier);
      if (settled) return { outcome: settled, ours: false };
    }
  }

  /**
   * Takes the ledger's claim for this attempt, the moment the provider is ready for the message. An
   * insert that failed may still have landed: the heartbeat says the claim is unused, so the next
   * attempt drops it rather than take it for a send that died at the provider.
   */
  async function claim(request: DeliveryRequest): Promise<void> {
    const { attempt } = activityInfo();
    // An attempt that waited past its time (for a free connection, under load) may already have a
    // successor: it must not claim, or the successor would take its claim for a send that died.
    if (Date.now() > attemptDeadline()) throw new Error('the attempt ran out of time before the provider was ready; not sent');
    for (;;) {
      let earlier: LedgerDoc | undefined;
      try {
        earlier = await insertEntry(deps.db.collections, request, { status: 'sending', attempt });
      } catch (err) {
        noteUnusedClaim();
        throw err;
      }
      if (!earlier) return;
      const settled = await settleEarlierAttempt(request, earlier);
      if (settled) throw new SettledEarlier(settled, earlier);
    }
  }

  /**
   * Claims the send and calls the provider. Once the provider may have the message, no path frees
   * the claim: a refusal is recorded, anything unclassified is an unknown outcome, and the answer is
   * written in retried steps of its own, apart from the call.
   */
  async function sendClaimed(request: DeliveryRequest, holdsGrant: boolean, send: (handOver: HandOver) => Promise<Receipt>): Promise<DeliveryOutcome> {
    const key = request.idempotencyKey;
    let handedOver = false;
    let receipt: Receipt;
    // The provider's own time: from the hand-over, not from waiting for a free connection.
    let observe: (() => void) | undefined;
    try {
      receipt = await inSpan(`provider send ${request.channel}`, { 'throughline.step': request.stepId, 'throughline.channel': request.channel }, () =>
        send(async () => {
          await claim(request);
          handedOver = true;
          observe = providerSeconds.startTimer({ channel: request.channel });
        }),
      );
      observe?.();
    } catch (err) {
      observe?.();
      if (err instanceof SettledEarlier) {
        // The grants are the earlier attempt's too (same send key): keep them unless it certainly did
        // not send. A claim still 'sending' may be a send in flight right now, so its grants stay.
        const { outcome, entry } = err;
        if (holdsGrant && !outcome.delivered && entry.status === 'done' && entry.reason !== UNKNOWN_OUTCOME) await releaseGrants(grants, key);
        return outcome;
      }
      if (!handedOver) throw err; // the provider never had it: Temporal retries
      return afterRefusal(request, holdsGrant, err as Error);
    }
    note({ result: { sent: receipt } });
    await durably(() => completeSend(deps.db.collections, key, SENT, { providerMessageId: receipt.providerMessageId, detail: receipt.detail }));
    return SENT;
  }

  /** A provider call that failed after the hand-over, by the kind of failure (see provider.ts). */
  async function afterRefusal(request: DeliveryRequest, holdsGrant: boolean, err: Error): Promise<DeliveryOutcome> {
    const key = request.idempotencyKey;
    const kind = err instanceof PermanentDeliveryError ? 'permanent' : err instanceof NotSentError || deps.providers[request.channel].idempotent ? 'not-sent' : 'unknown';
    providerErrors.inc({ channel: request.channel, kind });
    if (err instanceof PermanentDeliveryError) {
      const failed: Refusal = { code: err.code, message: err.message, ...(err.suppress ? { suppress: err.suppress } : {}) };
      note({ result: { failed } });
      if (holdsGrant) await durably(() => releaseGrants(grants, key));
      return recordRefusal(request, failed);
    }
    if (err instanceof NotSentError || deps.providers[request.channel].idempotent) {
      noteUnusedClaim();
      await releaseClaim(ledger, key);
      throw err; // certainly not sent (or harmless to repeat): Temporal's retry sends
    }
    return recordUnknown(request, `outcome unknown: ${err.message}`);
  }

  /**
   * Nothing is read from the ledger first: a retried or replayed step decides again and meets its
   * earlier attempt at the ledger's unique insert. So a send costs the decision's three round trips
   * (profile and policy state in parallel, grant insert) plus the claim and its completion.
   */
  async function deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
    const { decision, profile } = await decide(deps.db, deps.policy, request, new Date());
    if (!decision.allowed) return (await record(request, decision.outcome)).outcome;
    if (decision.holdsGrant) capGrants.inc({ channel: request.channel });
    const failWithoutSending = async (outcome: DeliveryOutcome, detail: string) => {
      const recorded = await record(request, outcome, detail);
      // Only this attempt's failure frees the slot; an earlier attempt's entry may be a send.
      if (decision.holdsGrant && recorded.ours) await releaseGrants(grants, request.idempotencyKey);
      return recorded.outcome;
    };
    let send: (handOver: HandOver) => Promise<Receipt>;
    try {
      send = await prepare(request, profile);
    } catch (err) {
      if (err instanceof UnknownEndpointError) return failWithoutSending({ delivered: false, reason: 'no-endpoint' }, err.message);
      if (!(err instanceof TemplateError)) throw err;
      activityLog.error('template failed to render', { key: request.idempotencyKey, error: err.message });
      return failWithoutSending({ delivered: false, reason: 'failed:render' }, err.message);
    }
    return sendClaimed(request, decision.holdsGrant, send);
  }

  async function deliverAndRecord(request: DeliveryRequest): Promise<DeliveryOutcome> {
    const outcome = await deliver(request);
    deliveryDecisions.inc({ channel: request.channel, outcome: reasonKind(outcome.reason), reason: outcome.reason });
    // After the ledger has the outcome: if this write fails, the retry finds the send recorded and
    // writes the same records again (they are keyed by instance and sequence).
    if (request.progress) {
      const { before, own } = request.progress;
      await insertProgress(deps.db.collections.progress, [...before, { ...own, outcome: outcome.reason, at: new Date().toISOString() }]);
    }
    return outcome;
  }

  return {
    deliver: deliverAndRecord,
    async deliverBatch(requests, inParallel) {
      if (requests.length > BATCH_SENDS_LIMIT) throw new Error(`a batch of ${requests.length} sends; at most ${BATCH_SENDS_LIMIT}`);
      if (new Set(requests.map((r) => r.idempotencyKey)).size !== requests.length) throw new Error('a batch names one send twice');
      // A worker that dies mid-batch is noticed within the heartbeat timeout, not the batch's whole time.
      const beating = setInterval(() => heartbeat(allNotes()), BATCH_HEARTBEAT_MS);
      // Every send runs to its end, so a failure in one leaves the others decided for the retry to find.
      const settled = await pMap(
        requests,
        (request) => sendOfBatch.run(request.idempotencyKey, () => deliverAndRecord(request)).then((outcome) => ({ outcome }), (error: unknown) => ({ error })),
        { concurrency: inParallel },
      ).finally(() => clearInterval(beating));
      const failure = settled.find((r) => 'error' in r);
      if (failure) throw failure.error;
      return settled.map((r) => (r as { outcome: DeliveryOutcome }).outcome);
    },
  };
}
