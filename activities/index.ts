/** Builds the worker's activities from configuration: the providers, the templates, the policy. */
import { capRules, required, type Config } from '../config.js';
import type { Policy } from './policy.js';
import type { Database } from '../store/db.js';
import { journeyVersions } from '../workflows/journeys/index.js';
import { checkSegments, checkTemplates } from '../workflows/sdk/journey.js';
import { segmentVersions } from '../segments/definitions/index.js';
import { deploymentSegments } from '../segments/deployment.js';
import type { SegmentEngine } from '../segments/engine.js';
import { createDeliveryActivities, type DeliveryActivities } from './delivery-activities.js';
import { createJourneyActivities, type JourneyActivities } from './journey-activities.js';
import { createMaintenanceActivities, type MaintenanceActivities } from './maintenance-activities.js';
import { createEventRecoveryActivities, type EventRecoveryActivities } from './event-recovery.js';
import { createSegmentActivities, type SegmentActivities } from './segment-activities.js';
import { createBroadcastActivities, type BroadcastActivities } from './broadcast-activities.js';
import { broadcasts } from '../broadcasts/definitions/index.js';
import { checkBroadcasts } from '../broadcasts/sdk/broadcast.js';
import { connectTemporal } from '../platform/temporal.js';
import { deploymentRouter, type Router } from '../events/router.js';
import type { Client } from '@temporalio/client';
import { createAudienceMembership } from './audience-membership.js';
import { createAudienceSyncActivities, type AudienceSyncActivities } from './audience-sync.js';
import type { AudienceProvider } from './providers/audience-provider.js';
import { createAudienceWebhookProvider } from './providers/audience-webhook.js';
import { createMetaAudiencesProvider } from './providers/meta-audiences.js';
import { createWebhookCaller } from './providers/webhook-call.js';
import { createEmailProvider } from './providers/email.js';
import { createSmsProvider } from './providers/sms.js';
import { loadTemplates } from './templates.js';
import { trackingSecret } from './engagement-links.js';

/** Records per rollup batch: a batch's deltas are a few documents, whatever its size; this bounds its memory. */
const ROLLUP_BATCH = 5_000;

export type Activities = DeliveryActivities & JourneyActivities & MaintenanceActivities & AudienceSyncActivities & EventRecoveryActivities & SegmentActivities & BroadcastActivities;

function policyOf(config: Config): Policy {
  return {
    capRules: capRules(config),
    quietHours: config.QUIET_HOURS,
    defaultTimeZone: config.DEFAULT_TIME_ZONE,
    lastSlot: { windowMs: config.CAP_PRIORITY_WINDOW, highest: Math.max(...journeyVersions.map((j) => j.priority)) },
    optInChannels: config.CONSENT_OPT_IN,
    globalControlPercent: config.GLOBAL_CONTROL_PERCENT,
    holdRules: config.HOLD_RULES,
  };
}

/** `temporal`: the client activities call Temporal with (a test's time-skipping server); by default, one of their own. */
export async function createActivities(config: Config, db: Database, options: { temporal?: Client } = {}): Promise<{ activities: Activities; close(): void }> {
  const dkim =
    config.DKIM_DOMAIN && config.DKIM_SELECTOR && config.DKIM_PRIVATE_KEY
      ? { domainName: config.DKIM_DOMAIN, keySelector: config.DKIM_SELECTOR, privateKey: config.DKIM_PRIVATE_KEY }
      : undefined;
  const email = createEmailProvider({
    smtpUrl: config.SMTP_URL,
    from: config.EMAIL_FROM,
    dkim,
    bounceDomain: config.BOUNCE_DOMAIN,
    maxConnections: config.SMTP_MAX_CONNECTIONS,
    timeoutMs: config.SMTP_TIMEOUT,
    ratePerSecond: config.SMTP_RATE_LIMIT,
  });
  const sms = createSmsProvider({
    accountSid: config.TWILIO_ACCOUNT_SID,
    authToken: config.TWILIO_AUTH_TOKEN,
    from: config.TWILIO_FROM,
    apiBaseUrl: config.TWILIO_API_BASE_URL,
    statusCallbackUrl: config.TWILIO_STATUS_CALLBACK_URL,
    maxConcurrent: config.TWILIO_MAX_CONCURRENT,
  });
  const audiencePlatforms: AudienceProvider[] = [createAudienceWebhookProvider({ url: config.AUDIENCE_WEBHOOK_URL, secret: required(config, 'AUDIENCE_WEBHOOK_SECRET') })];
  if (config.META_ACCESS_TOKEN) {
    audiencePlatforms.push(
      createMetaAudiencesProvider({ baseUrl: config.META_API_BASE_URL, apiVersion: config.META_API_VERSION, accessToken: config.META_ACCESS_TOKEN, audienceIds: config.META_AUDIENCES }),
    );
  }
  const audience = createAudienceMembership(db.collections.audienceMembers);
  const webhook = createWebhookCaller();
  const templates = await loadTemplates();
  // A journey that names a template this build lacks fails here, at start-up, not at its first send.
  for (const journey of journeyVersions) checkTemplates(journey, templates.has);
  // And one that acts on a segment this build does not compute.
  const computed = new Set(segmentVersions.map((s) => s.id));
  for (const journey of journeyVersions) checkSegments(journey, computed);
  checkBroadcasts(broadcasts, { hasTemplate: templates.has, segments: computed, journeys: journeyVersions });
  // The recovery schedule routes events to journeys: a client, connected on its first use.
  let temporal: Promise<Client> | undefined;
  const temporalClient = () => (options.temporal ? Promise.resolve(options.temporal) : (temporal ??= connectTemporal(config, db)));
  // One router and one segment engine for every activity that routes (recovered events, membership
  // changes time makes, broadcasts into a journey), as ingestion does: built on their first use.
  let routing: Promise<Router> | undefined;
  const router = () => (routing ??= temporalClient().then((client) => deploymentRouter(client, db, config)));
  let engine: Promise<SegmentEngine> | undefined;
  const segments = () => (engine ??= router().then((routes) => deploymentSegments(db, config, undefined, routes)));
  const activities = {
    ...createDeliveryActivities({
      db,
      providers: { email, sms, audience, webhook },
      templates,
      policy: policyOf(config),
      unsubscribe: { baseUrl: config.PUBLIC_BASE_URL, secret: required(config, 'UNSUBSCRIBE_SECRET') },
      webhookEndpoints: config.WEBHOOK_ENDPOINTS,
      tracking: { baseUrl: config.PUBLIC_BASE_URL, secret: trackingSecret(required(config, 'UNSUBSCRIBE_SECRET')) },
    }),
    ...createJourneyActivities(db),
    ...createAudienceSyncActivities(db, audiencePlatforms),
    ...createEventRecoveryActivities(db, router, segments, config),
    ...createSegmentActivities(db, segments),
    ...createBroadcastActivities(db, temporalClient, router, config),
    ...createMaintenanceActivities(
      db,
      { ledgerMs: config.LEDGER_RETENTION, dedupeMs: config.DEDUPE_RETENTION, segmentFactsMs: config.SEGMENT_EVENT_RETENTION, capRules: capRules(config), holdRules: config.HOLD_RULES },
      { lagMs: config.ROLLUP_LAG, batchSize: ROLLUP_BATCH, halfLifeMs: config.ATTRIBUTION_HALF_LIFE, countAudiences: config.ATTRIBUTION_COUNTS_AUDIENCES },
    ),
  };
  return {
    activities,
    close() {
      email.close();
      void temporal?.then((client) => client.connection.close());
    },
  };
}
