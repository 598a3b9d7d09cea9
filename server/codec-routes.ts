/**
 * The codec endpoint the Temporal web UI calls to show sealed payloads to the people allowed to read
 * them (Temporal's remote codec protocol: POST {endpoint}/decode and /encode with
 * `{ payloads: [{ metadata: { name: base64 }, data: base64 }] }`, the same shape back). Allowed: the
 * admin token as a Bearer header, or a console operator's session (the UI sends the cookie when
 * "include cross-origin credentials" is on; it is under /console, where the session cookie goes).
 * Viewers are refused: the UI would show them what the console masks.
 */
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import type { Payload } from '@temporalio/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import { ErasedPayloadError } from '../platform/payload-codec.js';
import { deploymentCodec } from '../platform/temporal.js';
import type { Database } from '../store/db.js';
import { sessionUser } from '../console/session.js';
import { parseBody } from './http-errors.js';
import { hasBearer } from './secrets.js';

export const CODEC_PATH = '/console/codec';

const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const Payloads = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), Base64).default({}), data: Base64.default('') })).max(1_000),
});
type WirePayloads = z.output<typeof Payloads>['payloads'];

const fromWire = (payloads: WirePayloads) =>
  payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])), data: Buffer.from(p.data, 'base64') }));
const toWire = (payloads: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }[]) =>
  payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data ?? []).toString('base64') }));

export interface CodecRouteOptions {
  config: Pick<Config, 'PAYLOAD_KEYS' | 'CUSTOMER_KEYS' | 'ADMIN_TOKEN' | 'CONSOLE_USERS' | 'CONSOLE_SECRET' | 'TEMPORAL_UI_ORIGINS'>;
  /** Where customers' data keys are kept. */
  db: Pick<Database, 'collections'>;
}

/** What the UI shows for a payload of an erased customer, in place of an error for the whole page. */
const ERASED = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify("[erased: the customer's data key was destroyed]")) };

export async function registerCodecRoutes(scope: FastifyInstance, { config, db }: CodecRouteOptions): Promise<void> {
  // Keys read afresh each time: an erased customer's payloads are unreadable here at once.
  const codec = deploymentCodec(config, db, { cacheKeysMs: 0 });
  if (!codec) return;
  const decodeEach = (payloads: Payload[]) =>
    Promise.all(payloads.map((p) => codec.decode([p]).then(([opened]) => opened!, (err: unknown) => {
      if (err instanceof ErasedPayloadError) return ERASED;
      throw err;
    })));
  // The UI runs on an origin of its own; only the configured ones may call, with the operator's cookie.
  await scope.register(cors, { origin: config.TEMPORAL_UI_ORIGINS, credentials: true, methods: ['POST'], allowedHeaders: ['content-type', 'x-namespace', 'authorization'], maxAge: 86_400 });
  const consoleOn = config.CONSOLE_USERS.length > 0 && !!config.CONSOLE_SECRET;
  if (consoleOn) await scope.register(cookie, { secret: config.CONSOLE_SECRET! });
  const allowed = (request: FastifyRequest) =>
    (!!config.ADMIN_TOKEN && hasBearer(request, config.ADMIN_TOKEN)) || (consoleOn && sessionUser(request, config.CONSOLE_USERS)?.role === 'operator');
  for (const [verb, convert] of [['decode', decodeEach], ['encode', (payloads: Payload[]) => codec.encode(payloads)]] as const) {
    // Under CODEC_PATH: the server registers this scope with it as its prefix.
    scope.post(`/${verb}`, async (request, reply) => {
      if (!allowed(request)) return reply.code(401).send({ error: 'the admin token or an operator signed in to the console' });
      const { payloads } = parseBody(Payloads, request.body);
      try {
        return { payloads: toWire(await convert(fromWire(payloads))) };
      } catch (err) {
        // A payload sealed with a key this deployment lacks, or altered: the caller's payload, not a fault here.
        return reply.code(422).send({ error: `cannot ${verb}: ${(err as Error).message}` });
      }
    });
  }
}
