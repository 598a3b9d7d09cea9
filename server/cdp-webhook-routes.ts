/**
 * Events forwarded by a CDP's webhook destination rather than sent to the tracking API: Segment's
 * "Webhooks (Actions)" (X-Signature: hex HMAC-SHA1 of the raw body with the shared secret) and
 * RudderStack's Webhook destination (a Bearer secret set as a custom header). The body is one
 * Segment-spec message or, with batching on, an array of them. The CDP has already corrected
 * `timestamp` for clock skew, so it is taken as is.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHmac } from 'node:crypto';
import { hasBearer, sameSecret } from './secrets.js';
import type { Ingest } from '../events/ingestion.js';
import { countRefusedEvents, ingestValid } from './segment-routes.js';
import { parseMessage } from '../events/segment-schema.js';
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from '../events/limits.js';
import { jsonBodies, rawBodyOf } from './request-bodies.js';
import { HttpError } from './http-errors.js';

export interface CdpWebhookOptions {
  ingest: Ingest;
  segmentSecret?: string;
  rudderstackSecret?: string;
}

const verifiers = {
  segment: (secret: string, request: FastifyRequest) => {
    const signature = request.headers['x-signature'];
    const expected = createHmac('sha1', secret).update(rawBodyOf(request)).digest('hex');
    return typeof signature === 'string' && sameSecret(signature.toLowerCase(), expected);
  },
  rudderstack: (secret: string, request: FastifyRequest) => hasBearer(request, secret),
};

export function registerCdpWebhookRoutes(app: FastifyInstance, options: CdpWebhookOptions): void {
  // The signature covers the exact bytes sent: the body reader keeps them beside the parsed body.
  jsonBodies(app);
  countRefusedEvents(app);

  const secrets = { segment: options.segmentSecret, rudderstack: options.rudderstackSecret };
  for (const cdp of ['segment', 'rudderstack'] as const) {
    app.post(`/webhooks/${cdp}`, { bodyLimit: MAX_BATCH_BYTES }, async (request, reply) => {
      const secret = secrets[cdp];
      if (!secret) return reply.code(404).send({ error: `the ${cdp} webhook is not configured` });
      if (!verifiers[cdp](secret, request)) return reply.code(401).send({ error: 'signature does not match' });
      const messages = Array.isArray(request.body) ? request.body : [request.body];
      if (messages.length > MAX_BATCH_EVENTS) throw new HttpError(413, `at most ${MAX_BATCH_EVENTS} events in one call`);
      const items = messages.map((message, index) => parseMessage(message, { prefix: Array.isArray(request.body) ? String(index) : '' }));
      const outcome = await ingestValid(request, options.ingest, `webhook:${cdp}`, items, { receivedAt: new Date(), forwarded: true });
      return { success: true, ...outcome };
    });
  }
}
