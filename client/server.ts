/**
 * The ingestion HTTP server: the Segment HTTP tracking API (POST /v1/track, /v1/identify,
 * /v1/batch, write key as HTTP Basic user name), and a small admin API. Stateless: run several
 * behind a load balancer.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { loadConfig, required, type Config } from '../config.js';
import { openDatabase, type Database } from '../store/db.js';
import { addSuppression, liftSuppressions } from '../store/suppressions.js';
import { journeyVersions } from '../workflows/journeys/index.js';
import { createIngestion, type Ingestion } from './ingestion.js';
import { logger } from './logger.js';
import { createRouter } from './router.js';
import { BatchSchema, describeIssues, IdentifySchema, TrackSchema, type FieldProblem } from './segment-schema.js';
import { ConsentSchema, LiftSchema, SuppressionSchema } from './admin-schema.js';
import { recordConsent } from '../store/consent.js';
import { registerFeedbackRoutes, type FeedbackOptions } from './feedback-routes.js';
import { connectTemporal } from './temporal.js';

export interface ServerOptions {
  ingestion: Ingestion;
  db: Database;
  writeKeys: string[];
  adminToken?: string;
  feedback: Omit<FeedbackOptions, 'db'>;
}

class BadRequest extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super('invalid payload');
  }
}

function parse<S extends z.ZodType>(schema: S, body: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw new BadRequest(describeIssues(result.error, prefix));
  return result.data;
}

/** Segment sends the write key as the Basic auth user name (or in the body as `writeKey`). */
function writeKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ')) return Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
  const body = request.body as { writeKey?: unknown } | undefined;
  return typeof body?.writeKey === 'string' ? body.writeKey : undefined;
}

export function feedbackOptions(config: Config): ServerOptions['feedback'] {
  return { publicBaseUrl: config.PUBLIC_BASE_URL, unsubscribeSecret: required(config, 'UNSUBSCRIBE_SECRET'), twilioAuthToken: config.TWILIO_AUTH_TOKEN };
}

export function buildServer(options: ServerOptions) {
  const { ingestion } = options;
  const app = Fastify({ loggerInstance: logger.child({ component: 'http' }), bodyLimit: 512 * 1024 });

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply: FastifyReply) => {
    if (err instanceof BadRequest) return reply.code(400).send({ error: 'invalid payload', problems: err.problems });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    // Temporal or MongoDB unavailable: the event was not acted on, and CDPs retry on 5xx with Retry-After.
    request.log.error({ err }, 'event not accepted');
    return reply.code(503).header('retry-after', '5').send({ error: 'temporarily unavailable, retry later' });
  });

  app.register(async (segment) => {
    segment.addHook('preHandler', async (request, reply) => {
      const key = writeKeyOf(request);
      if (!key || !options.writeKeys.includes(key)) {
        return reply.code(401).send({ error: 'missing or unknown write key' });
      }
    });
    const source = (request: FastifyRequest) => writeKeyOf(request)!;
    segment.post('/v1/track', async (request) => {
      return { success: true, result: await ingestion.track(source(request), parse(TrackSchema, request.body)) };
    });
    segment.post('/v1/identify', async (request) => {
      return { success: true, result: await ingestion.identify(source(request), parse(IdentifySchema, request.body)) };
    });
    segment.post('/v1/batch', async (request) => {
      const { batch, context } = parse(BatchSchema, request.body);
      // Validate every event before acting on any, so a malformed batch changes nothing.
      const events = batch.map((item, index) => {
        const withContext = { context, ...item };
        return item.type === 'track'
          ? { type: 'track' as const, payload: parse(TrackSchema, withContext, `batch.${index}`) }
          : { type: 'identify' as const, payload: parse(IdentifySchema, withContext, `batch.${index}`) };
      });
      const results = [];
      for (const event of events) {
        results.push(
          event.type === 'track'
            ? await ingestion.track(source(request), event.payload)
            : await ingestion.identify(source(request), event.payload),
        );
      }
      return { success: true, results };
    });
  });

  app.register(async (admin) => {
    admin.addHook('preHandler', async (request, reply) => {
      if (!options.adminToken || request.headers.authorization !== `Bearer ${options.adminToken}`) {
        return reply.code(401).send({ error: 'admin token required' });
      }
    });
    admin.post('/admin/suppressions', async (request, reply) => {
      const entry = parse(SuppressionSchema, request.body);
      await addSuppression(options.db.collections.suppressions, { ...entry, source: entry.source ?? 'admin-api' });
      return reply.code(201).send({ success: true });
    });
    admin.post('/admin/consent', async (request, reply) => {
      const { userId, channel, granted, source, evidence } = parse(ConsentSchema, request.body);
      await recordConsent(options.db.collections, userId, { [channel]: granted }, { source: source ?? 'admin-api', evidence });
      return reply.code(201).send({ success: true });
    });
    admin.post('/admin/suppressions/lift', async (request) => {
      const { userId, channel, reasons, source } = parse(LiftSchema, request.body);
      const lifted = await liftSuppressions(options.db.collections.suppressions, { userId, channel, reasons }, source ?? 'admin-api');
      return { success: true, lifted };
    });
  });

  app.register(async (feedback) => registerFeedbackRoutes(feedback, { db: options.db, ...options.feedback }));

  app.get('/health', async () => ({ ok: true }));
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const config = loadConfig();
  const db = await openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE);
  const client = await connectTemporal(config);
  const route = createRouter({ client, db, taskQueue: config.TEMPORAL_TASK_QUEUE, journeys: journeyVersions, settings: config.JOURNEY_SETTINGS });
  const app = buildServer({ ingestion: createIngestion(db, route, { phoneRegion: config.DEFAULT_PHONE_REGION }), db, writeKeys: config.WRITE_KEYS, adminToken: config.ADMIN_TOKEN, feedback: feedbackOptions(config) });
  await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
}
