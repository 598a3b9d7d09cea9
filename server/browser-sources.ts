/**
 * Browser sources: the SDKs a web page runs (Segment's analytics.js, RudderStack's JavaScript SDK)
 * send to the same Segment API as servers do, with a write key that is public by nature (it is in
 * the page). So a browser key is bound to the origins its source lists: preflights are answered for
 * them and a request from any other origin is refused with a 403. It is limited per key and per
 * client IP (429 with Retry-After, counted in MongoDB so every server process shares the count), it
 * only ever sends events, and events from bots and crawlers are flagged (`context.bot`). A server
 * key is a secret: a request that carries an Origin (a page) is refused with it.
 *
 * The SDKs also read their settings from their vendor's CDN; served here, a page needs nothing from
 * Segment or RudderStack: analytics.js with `cdnURL`, RudderStack with `configUrl`, both set to
 * this server.
 */
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isbot } from 'isbot';
import type { Collection } from 'mongodb';
import type { Database } from '../store/db.js';
import { originMatcher, type BrowserSource } from '../events/browser-sources.js';
import { countHit, type RateLimitDoc } from '../store/rate-limits.js';

export interface BrowserAccessOptions {
  sources: BrowserSource[];
  db: Database;
  /** Requests a minute per browser key, and per client IP. */
  keyLimit: number;
  ipLimit: number;
  publicBaseUrl: string;
  writeKeyOf(request: FastifyRequest): string | undefined;
}

const MINUTE = 60_000;

/** The rate limiter's store: its counters in MongoDB, shared by every server process. */
function countersStore(counters: Collection<RateLimitDoc>) {
  return class CountersStore {
    incr(key: string, callback: (err: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number) {
      countHit(counters, key, timeWindow).then((result) => callback(null, result), (err: Error) => callback(err));
    }
    child() {
      return new CountersStore();
    }
  };
}

/** Marks each event of a body sent by a bot or crawler (`context.bot`), batches included. */
function flagBot(body: unknown): void {
  if (!body || typeof body !== 'object') return;
  const events = Array.isArray((body as { batch?: unknown }).batch) ? ((body as { batch: unknown[] }).batch) : [body];
  for (const event of events) {
    if (!event || typeof event !== 'object') continue;
    const withContext = event as { context?: Record<string, unknown> };
    withContext.context = { ...(withContext.context ?? {}), bot: true };
  }
}

/** Adds origin checks, CORS, limits and bot flags to the event routes of `scope`. */
export async function registerBrowserAccess(scope: FastifyInstance, options: BrowserAccessOptions): Promise<void> {
  const bySource = new Map(options.sources.map((s) => [s.writeKey, originMatcher(s.origins)]));
  const anySource = originMatcher(options.sources.flatMap((s) => s.origins));
  const browserKey = (request: FastifyRequest) => {
    const key = options.writeKeyOf(request);
    return key !== undefined && bySource.has(key) ? key : undefined;
  };

  // Preflights carry no write key: an origin some browser source lists gets its answer, and the
  // request itself is then checked against its own key's origins.
  await scope.register(cors, { origin: (origin, callback) => callback(null, origin !== undefined && anySource(origin)), credentials: true, maxAge: 86_400, methods: ['GET', 'POST'] });

  scope.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    const key = options.writeKeyOf(request);
    const allowed = key === undefined ? undefined : bySource.get(key);
    if (!allowed) {
      if (origin === undefined) return;
      return reply.code(403).send({ error: 'this write key is a server-side secret and may not be used from a web page: send from the page with a browser source key (BROWSER_SOURCES)' });
    }
    if (origin === undefined || !allowed(origin)) {
      return reply.code(403).send({ error: `origin ${origin ?? '(none)'} may not send with this browser write key: add it to the source's origins (BROWSER_SOURCES)` });
    }
    if (isbot(request.headers['user-agent'])) flagBot(request.body);
  });

  await scope.register(rateLimit, { global: false, store: countersStore(options.db.collections.rateLimits) });
  const limits = [
    { what: 'this client IP', limit: scope.createRateLimit({ max: options.ipLimit, timeWindow: MINUTE, keyGenerator: (request) => `browser-ip:${request.ip}` }) },
    { what: 'this browser write key', limit: scope.createRateLimit({ max: options.keyLimit, timeWindow: MINUTE, keyGenerator: (request) => `browser-key:${browserKey(request)}` }) },
  ];
  scope.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (browserKey(request) === undefined) return;
    for (const { what, limit } of limits) {
      const counted = await limit(request);
      if (counted.isAllowed || !counted.isExceeded) continue;
      return reply
        .code(429)
        .header('retry-after', String(counted.ttlInSeconds))
        .send({ error: `too many requests from ${what}: at most ${counted.max} a minute; retry in ${counted.ttlInSeconds} s` });
    }
  });

  registerSdkSettings(scope, options.publicBaseUrl);
}

/** What the SDKs would read from their vendor's CDN: settings that send every event here and nowhere else. */
function registerSdkSettings(scope: FastifyInstance, publicBaseUrl: string): void {
  const base = new URL(publicBaseUrl);
  const apiHost = `${base.host}${base.pathname.replace(/\/$/, '')}/v1`;
  const protocol = base.protocol.replace(':', '');
  scope.get<{ Params: { writeKey: string } }>('/v1/projects/:writeKey/settings', async (request) => ({
    integrations: { 'Segment.io': { apiKey: request.params.writeKey, apiHost, protocol, unbundledIntegrations: [], addBundledMetadata: true } },
    plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
    enabledMiddleware: {},
    middlewareSettings: {},
    // No metrics to Segment, no plugins from its CDN.
    metrics: { sampleRate: 0 },
    remotePlugins: [],
  }));
  for (const url of ['/sourceConfig', '/sourceConfig/']) {
    scope.get(url, async (request) => {
      const writeKey = (request.query as { writeKey?: string }).writeKey;
      return { isHosted: false, source: { id: writeKey, name: 'throughline', writeKey, enabled: true, workspaceId: 'throughline', config: {}, destinations: [] } };
    });
  }
}
