/**
 * The Segment HTTP tracking API: POST /v1/{track,identify,page,screen,group,alias} and /v1/batch
 * (and analytics.js's short forms /v1/{t,i,p,s,g,a,b}), with the write key as the HTTP Basic user
 * name (or `writeKey` in the body). Each write key is a source: messageIds are deduplicated per
 * source. Browser sources' keys are public: see browser-sources.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Ingest, IngestOptions, IngestResult } from '../events/ingestion.js';
import { BatchSchema, MESSAGE_TYPES, parseMessage, type MessageType, type Parsed } from '../events/segment-schema.js';
import type { FieldProblem } from '../store/field-rules.js';
import { MAX_BATCH_BYTES, MAX_EVENT_BYTES } from '../events/limits.js';
import { registerBrowserAccess, type BrowserAccessOptions } from './browser-sources.js';
import { BadRequest, parseBody } from './http-errors.js';
import { jsonBodies } from './request-bodies.js';
import { eventsTotal } from '../platform/metrics.js';
import { inSpan } from '../platform/tracing.js';

/**
 * Segment sends the write key as the Basic auth user name (or in the body as `writeKey`); the SDKs'
 * settings requests name it in the path or the query.
 */
function writeKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ')) return Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
  for (const part of [request.body, request.params, request.query] as Array<{ writeKey?: unknown } | undefined>) {
    if (typeof part?.writeKey === 'string') return part.writeKey;
  }
  return undefined;
}

/** analytics.js's short paths: /v1/t is /v1/track, and so on; /v1/b is /v1/batch. */
const SHORT_PATHS: Record<MessageType, string> = { track: 't', identify: 'i', page: 'p', screen: 's', group: 'g', alias: 'a' };

export interface BatchOutcome {
  results: Array<IngestResult | 'rejected'>;
  rejected: Array<{ index: number; problems: FieldProblem[] }>;
}

/**
 * Ingests the valid messages of a batch and reports the invalid ones by index; with none valid, the
 * whole call is a BadRequest. Any failure to act on a valid message fails the whole call, so the CDP
 * retries it; what was already accepted is deduplicated then.
 */
export async function ingestValid(request: FastifyRequest, ingest: Ingest, source: string, items: Parsed[], options: IngestOptions): Promise<BatchOutcome> {
  const valid = items.flatMap((item, index) => (item.ok ? [{ index, message: item.message }] : []));
  if (!valid.length) throw new BadRequest(items.flatMap((item) => (item.ok ? [] : item.problems)));
  // The trace of these events starts here: routing, the journeys and their sends are its children.
  const route = request.routeOptions.url!;
  const ingested = await inSpan(`${request.method} ${route}`, { 'http.route': route, 'throughline.events': valid.length }, () =>
    ingest(source, valid.map((v) => v.message), options),
  );
  const results: BatchOutcome['results'] = items.map(() => 'rejected');
  valid.forEach((v, i) => (results[v.index] = ingested[i]!));
  const rejected = items.flatMap((item, index) => (item.ok ? [] : [{ index, problems: item.problems }]));
  for (const result of results) eventsTotal.inc({ route, outcome: result });
  return { results, rejected };
}

/**
 * Counts a refused request as one event of its route: rejected (4xx: bad input, no write key) or
 * unavailable (5xx: a dependency down). Accepted ones are counted per event by ingestValid.
 */
export function countRefusedEvents(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 400) eventsTotal.inc({ route: request.routeOptions.url ?? 'unknown', outcome: reply.statusCode >= 500 ? 'unavailable' : 'rejected' });
  });
}

export interface SegmentRouteOptions {
  ingest: Ingest;
  writeKeys: string[];
  browser: Omit<BrowserAccessOptions, 'writeKeyOf'>;
}

export async function registerSegmentRoutes(app: FastifyInstance, options: SegmentRouteOptions): Promise<void> {
  const { ingest } = options;
  const known = new Set([...options.writeKeys, ...options.browser.sources.map((s) => s.writeKey)]);
  jsonBodies(app);
  countRefusedEvents(app);
  app.addHook('preHandler', async (request, reply) => {
    const key = writeKeyOf(request);
    if (!key || !known.has(key)) return reply.code(401).send({ error: 'missing or unknown write key' });
  });
  await registerBrowserAccess(app, { ...options.browser, writeKeyOf });

  for (const type of MESSAGE_TYPES) {
    const handler = async (request: FastifyRequest) => {
      const { results } = await ingestValid(request, ingest, writeKeyOf(request)!, [parseMessage(request.body, { type })], { receivedAt: new Date() });
      return { success: true, result: results[0] };
    };
    for (const path of [type, SHORT_PATHS[type]]) app.post(`/v1/${path}`, { bodyLimit: MAX_EVENT_BYTES }, handler);
  }

  const ingestBatch = async (request: FastifyRequest, reply: FastifyReply) => {
    const receivedAt = new Date();
    const { batch, context, sentAt } = parseBody(BatchSchema, request.body);
    // The batch's context and sentAt apply to each event that does not carry its own.
    const items = batch.map((item, index) =>
      parseMessage(item && typeof item === 'object' ? { ...(context && { context }), ...(sentAt && { sentAt }), ...item } : item, { prefix: `batch.${index}` }),
    );
    const outcome = await ingestValid(request, ingest, writeKeyOf(request)!, items, { receivedAt });
    return reply.send({ success: true, ...outcome });
  };
  for (const path of ['batch', 'b']) app.post(`/v1/${path}`, { bodyLimit: MAX_BATCH_BYTES }, ingestBatch);
}
