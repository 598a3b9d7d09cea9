/**
 * The ingestion HTTP server: the Segment tracking API, CDP webhook destinations, feedback from
 * recipients and providers, engagement (tracked links and opens), a small admin API with the
 * reports, and the console. Stateless: run several behind a load balancer.
 */
import type { Client } from '@temporalio/client';
import Fastify from 'fastify';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, required, type Config } from '../config.js';
import { openDatabase, type Database } from '../store/db.js';
import { journeyVersions } from '../workflows/journeys/index.js';
import type { JourneyDefinition } from '../workflows/sdk/journey.js';
import type { SegmentDefinition } from '../segments/sdk/segment.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerEngagementRoutes } from './engagement-routes.js';
import { registerConsole } from '../console/routes.js';
import { trackingSecret } from '../activities/engagement-links.js';
import { registerBounceRoutes } from './bounce-routes.js';
import { registerCdpWebhookRoutes } from './cdp-webhook-routes.js';
import { registerFeedbackRoutes } from './feedback-routes.js';
import { handleError } from './http-errors.js';
import { decodeCompressedBody } from './request-bodies.js';
import { createIngestion } from '../events/ingestion.js';
import { broadcastConversions } from '../broadcasts/conversions.js';
import { broadcasts } from '../broadcasts/definitions/index.js';
import type { BroadcastDefinition } from '../broadcasts/sdk/broadcast.js';
import { logger } from '../platform/logger.js';
import { CODEC_PATH, registerCodecRoutes } from './codec-routes.js';
import { deploymentRouter } from '../events/router.js';
import { deploymentSegments } from '../segments/deployment.js';
import { registerSegmentRoutes } from './segment-routes.js';
import { connectTemporal } from '../platform/temporal.js';
import { dependencyChecks, quietRequestLogs, registerOpsRoutes } from '../platform/ops-routes.js';
import { drainOnSignal } from '../platform/shutdown.js';
import { listenOrExit } from '../platform/listen.js';

export interface ServerOptions {
  config: Config;
  db: Database;
  temporal: Client;
  /** The journey versions this deployment routes with (default: all in the build). */
  journeys?: readonly JourneyDefinition[];
  /** The segment versions its ingestion computes (default: all in the build). */
  segments?: readonly SegmentDefinition[];
  /** The broadcasts whose goals its ingestion records (default: all in the build). */
  broadcasts?: readonly BroadcastDefinition[];
}

export function buildServer({ config, db, temporal, journeys = journeyVersions, segments: segmentDefinitions, broadcasts: broadcastDefinitions = broadcasts }: ServerOptions) {
  let draining = false;
  const router = deploymentRouter(temporal, db, config, { journeys, calls: { timeoutMs: config.DEPENDENCY_TIMEOUT, inFlight: config.TEMPORAL_CALLS_IN_FLIGHT } });
  const segments = deploymentSegments(db, config, segmentDefinitions, router);
  const conversions = broadcastConversions(db, broadcastDefinitions);
  const { ingest } = createIngestion(db, router, { phoneRegion: config.DEFAULT_PHONE_REGION, holdRules: config.HOLD_RULES, segments, conversions });
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }),
    ...quietRequestLogs(),
    // The client IP the browser sources' limits count: from X-Forwarded-For only through a trusted proxy.
    trustProxy: config.TRUSTED_PROXIES.length ? config.TRUSTED_PROXIES : false,
  });
  app.setErrorHandler(handleError);
  app.addHook('preParsing', decodeCompressedBody);
  app.register(async (scope) =>
    registerSegmentRoutes(scope, {
      ingest,
      writeKeys: config.WRITE_KEYS,
      browser: { sources: config.BROWSER_SOURCES, db, keyLimit: config.BROWSER_KEY_RATE_LIMIT, ipLimit: config.BROWSER_IP_RATE_LIMIT, publicBaseUrl: config.PUBLIC_BASE_URL },
    }),
  );
  app.register(async (scope) =>
    registerCdpWebhookRoutes(scope, { ingest, segmentSecret: config.SEGMENT_WEBHOOK_SECRET, rudderstackSecret: config.RUDDERSTACK_WEBHOOK_SECRET }),
  );
  app.register(async (scope) => registerAdminRoutes(scope, { db, temporal, adminToken: config.ADMIN_TOKEN, globalControlPercent: config.GLOBAL_CONTROL_PERCENT, segments }));
  app.register(async (scope) => registerBounceRoutes(scope, { db, secret: config.BOUNCE_WEBHOOK_SECRET, segments }));
  app.register(async (scope) =>
    registerFeedbackRoutes(scope, {
      db,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      unsubscribeSecret: required(config, 'UNSUBSCRIBE_SECRET'),
      twilioAuthToken: config.TWILIO_AUTH_TOKEN,
      segments,
    }),
  );
  // The console, when anyone may sign in to it (CONSOLE_USERS).
  if (config.CONSOLE_USERS.length) {
    required(config, 'CONSOLE_SECRET');
    app.register(async (scope) => registerConsole(scope, { config, db, temporal }));
  }
  app.register(async (scope) =>
    registerEngagementRoutes(scope, { db, ingest, secret: trackingSecret(required(config, 'UNSUBSCRIBE_SECRET')) }),
  );
  // The Temporal web UI's codec endpoint, when payloads are sealed.
  // Under a prefix of its own, so its CORS preflight route is its own too.
  app.register(async (scope) => registerCodecRoutes(scope, { config, db }), { prefix: CODEC_PATH });
  const checks = dependencyChecks(temporal, db);
  app.register(async (scope) =>
    registerOpsRoutes(scope, {
      checks: () => checks,
      draining: () => draining,
    }),
  );
  // Draining: new requests are turned away (CDPs retry on 503), those in progress finish.
  app.addHook('onRequest', async (request, reply) => {
    if (draining && !request.url.startsWith('/healthz')) return reply.code(503).header('retry-after', '5').send({ error: 'shutting down, retry later' });
  });
  return Object.assign(app, {
    /** Stops taking requests and waits for those in progress. */
    async drain() {
      draining = true;
      await app.close();
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const config = loadConfig();
  if (!config.PAYLOAD_KEYS) logger.warn("PAYLOAD_KEYS is unset: Temporal's histories, UI and CLI show customers' data in plain text");
  // The driver retries a failed write once, choosing a server again: half the timeout each keeps the
  // whole wait within DEPENDENCY_TIMEOUT when the database is down.
  const db = await openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE, { serverSelectionTimeoutMS: config.DEPENDENCY_TIMEOUT / 2 });
  const temporal = await connectTemporal(config, db);
  const app = buildServer({ config, db, temporal });
  await listenOrExit(app, { host: config.HTTP_HOST, port: config.HTTP_PORT, variable: 'HTTP_PORT' });
  drainOnSignal(async () => {
    await app.drain();
    await temporal.connection.close();
    await db.close();
  }, config.SHUTDOWN_GRACE);
}
