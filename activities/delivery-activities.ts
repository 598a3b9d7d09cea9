/**
 * The one delivery path. Every send of every journey and channel is one call of `deliver`: policy
 * decision, render, claim, provider call, ledger completion. Idempotent under Temporal retries: the
 * ledger's unique insert returns a retried or replayed step's recorded outcome.
 */
import { log as activityLog } from '@temporalio/activity';
import type { Database } from '../store/db.js';
import { releaseGrants } from '../store/frequency-grants.js';
import { completeSend, insertEntry, outcomeOf, releaseClaim, type LedgerDoc } from '../store/ledger.js';
import type { Profile } from '../store/profiles.js';
import { addSuppression } from '../store/suppressions.js';
import type { DeliveryOutcome, DeliveryRequest } from '../workflows/sdk/types.js';
import { toE164 } from './phone-number.js';
import { decide, type Policy } from './policy.js';
import type { AudienceChange } from './audience-membership.js';
import type { EmailMessage } from './providers/email.js';
import { PermanentDeliveryError, type ChannelProvider, type Receipt } from './providers/provider.js';
import type { SmsMessage } from './providers/sms.js';
import type { WebhookCall, WebhookEndpoint } from './providers/webhook-call.js';
import { templateContext, TemplateError, type TemplateRenderer } from './templates.js';
import { unsubscribeUrl as buildUnsubscribeUrl } from './unsubscribe-token.js';

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
}

export interface DeliveryActivities {
  deliver(request: DeliveryRequest): Promise<DeliveryOutcome>;
}

const SENT: DeliveryOutcome = { delivered: true, reason: 'sent' };
/** A send that may or may not have gone out: an attempt died, or another attempt is sending now. */
const UNKNOWN_OUTCOME = 'unknown-outcome';

export function createDeliveryActivities(deps: DeliveryDeps): DeliveryActivities {
  const { ledger, grants, suppressions } = deps.db.collections;

  /** Resolves the request to one provider call, rendering templates where the channel has them. */
  async function prepare(request: DeliveryRequest, profile: Profile | undefined): Promise<() => Promise<Receipt>> {
    const key = request.idempotencyKey;
    if (request.channel === 'audience') {
      const change = { audience: request.audience, action: request.action, userId: request.userId, email: profile?.email, phone: profile?.phone };
      return () => deps.providers.audience.send(change, key);
    }
    if (request.channel === 'webhook') {
      const endpoint = deps.webhookEndpoints[request.endpoint];
      if (!endpoint) throw new UnknownEndpointError(`no endpoint "${request.endpoint}" in WEBHOOK_ENDPOINTS`);
      const context = templateContext({ traits: profile?.traits ?? {}, event: request.data, journey: { id: request.journeyId, step: request.stepId } });
      const body = await deps.templates.renderJson(request.body, context, `webhook step "${request.stepId}" body`);
      return () => deps.providers.webhook.send({ endpoint, body, timeoutMs: request.timeoutMs }, key);
    }
    const unsubscribeUrl =
      request.category === 'transactional' || request.channel !== 'email'
        ? undefined
        : buildUnsubscribeUrl(deps.unsubscribe.baseUrl, deps.unsubscribe.secret, { userId: request.userId, channel: 'email', category: request.category });
    const context = templateContext({ traits: profile?.traits ?? {}, event: request.data, journey: { id: request.journeyId, step: request.stepId }, unsubscribeUrl });
    const rendered = await deps.templates.render(request.template, request.channel, context);
    if (rendered.channel === 'email') {
      const { channel: _channel, ...content } = rendered;
      return () => deps.providers.email.send({ to: profile!.email!, ...content, unsubscribeUrl }, key);
    }
    return () => deps.providers.sms.send({ to: toE164(profile!.phone!)!, body: rendered.body }, key);
  }

  /**
   * The outcome of a step that already has a ledger entry: the one recorded. A claim still 'sending'
   * means an earlier attempt died inside the provider call; undefined when it may be retried (the
   * provider is idempotent, so the claim is dropped and the caller writes its entry again).
   */
  async function settleEarlierAttempt(request: DeliveryRequest, entry: LedgerDoc): Promise<DeliveryOutcome | undefined> {
    if (entry.status === 'done') return outcomeOf(entry);
    if (deps.providers[request.channel].idempotent) {
      await releaseClaim(ledger, entry._id);
      return undefined;
    }
    const outcome = { delivered: false, reason: UNKNOWN_OUTCOME };
    await completeSend(ledger, entry._id, outcome, { detail: 'an earlier attempt died during the provider call; not sent again' });
    return outcome;
  }

  /**
   * Records a decision not to send; if an earlier attempt of the step left an entry, its outcome
   * stands (`ours` false).
   */
  async function record(request: DeliveryRequest, outcome: DeliveryOutcome, detail?: string): Promise<{ outcome: DeliveryOutcome; ours: boolean }> {
    for (;;) {
      const earlier = await insertEntry(ledger, request, { status: 'done', outcome, detail });
      if (!earlier) return { outcome, ours: true };
      const settled = await settleEarlierAttempt(request, earlier);
      if (settled) return { outcome: settled, ours: false };
    }
  }

  /**
   * Claims the send and calls the provider. An earlier attempt's entry wins over this one: its outcome
   * is returned, and the grants are given back if that attempt certainly did not send.
   */
  async function sendClaimed(request: DeliveryRequest, holdsGrant: boolean, send: () => Promise<Receipt>): Promise<DeliveryOutcome> {
    const key = request.idempotencyKey;
    for (let earlier = await insertEntry(ledger, request, { status: 'sending' }); earlier; earlier = await insertEntry(ledger, request, { status: 'sending' })) {
      const settled = await settleEarlierAttempt(request, earlier);
      if (!settled) continue;
      // The grants are the earlier attempt's too (same send key): keep them unless it certainly did not
      // send. A claim still 'sending' may be a send in flight right now, so its grants stay.
      if (holdsGrant && !settled.delivered && earlier.status === 'done' && earlier.reason !== UNKNOWN_OUTCOME) await releaseGrants(grants, key);
      return settled;
    }
    try {
      const receipt = await send();
      await completeSend(ledger, key, SENT, { providerMessageId: receipt.providerMessageId, detail: receipt.detail });
      return SENT;
    } catch (err) {
      if (!(err instanceof PermanentDeliveryError)) {
        await releaseClaim(ledger, key); // certainly not sent: let Temporal's retry try again
        throw err;
      }
      if (holdsGrant) await releaseGrants(grants, key);
      if (err.suppress && request.channel !== 'webhook') {
        const channel = request.channel;
        await addSuppression(suppressions, { userId: request.userId, channel, reason: err.suppress, source: `provider:${err.code}` });
      }
      const outcome = { delivered: false, reason: `failed:${err.code}` };
      await completeSend(ledger, key, outcome, { detail: err.message });
      return outcome;
    }
  }

  /**
   * Nothing is read from the ledger first: a retried or replayed step decides again and meets its
   * earlier attempt at the ledger's unique insert. So a send costs the decision's three round trips
   * (profile and policy state in parallel, grant insert) plus the claim and its completion.
   */
  async function deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
    const { decision, profile } = await decide(deps.db, deps.policy, request, new Date());
    if (!decision.allowed) return (await record(request, decision.outcome)).outcome;
    const failWithoutSending = async (outcome: DeliveryOutcome, detail: string) => {
      const recorded = await record(request, outcome, detail);
      // Only this attempt's failure frees the slot; an earlier attempt's entry may be a send.
      if (decision.holdsGrant && recorded.ours) await releaseGrants(grants, request.idempotencyKey);
      return recorded.outcome;
    };
    let send: () => Promise<Receipt>;
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

  return { deliver };
}
