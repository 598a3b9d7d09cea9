/**
 * Request bodies at the edge, read the same way on every route that takes JSON:
 * - `Content-Encoding: gzip` or `deflate` is decoded before the route's size limit applies, so a
 *   zip bomb is a 413 as soon as its decoded bytes pass the limit, never a memory spike;
 * - the bytes as sent are kept for signature checks;
 * - the body is read as JSON whatever its label: RudderStack's Node SDK labels its gzipped JSON
 *   `application/x-www-form-urlencoded`, Segment's browser beacons send `text/plain`;
 * - the shape is checked before anything walks it (nesting depth, `__proto__` keys).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Transform, type Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { MAX_NESTING } from '../events/limits.js';
import { PROTO_KEY, type FieldProblem } from '../store/field-rules.js';
import { BadRequest, HttpError } from './http-errors.js';

const DECODERS: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate };

/** The payload as sent, decoded; Fastify counts `receivedEncodedLength` against Content-Length. */
function decoded(payload: Readable, decoder: Transform): Readable {
  const counted = Object.assign(decoder, { receivedEncodedLength: 0 });
  payload.on('data', (chunk: Buffer) => (counted.receivedEncodedLength += chunk.length));
  payload.on('error', (err) => counted.destroy(err));
  counted.on('error', () => payload.destroy());
  return payload.pipe(counted);
}

/** A preParsing hook: the request's body, decoded if it came compressed. */
export async function decodeCompressedBody(request: FastifyRequest, _reply: unknown, payload: Readable): Promise<Readable> {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return payload;
  const decoder = DECODERS[encoding];
  if (!decoder) throw new HttpError(415, `Content-Encoding "${encoding}" is not accepted: send gzip, deflate or none`);
  return decoded(payload, decoder());
}

const fieldOf = (path: string[]) => path.join('.') || '(body)';

/**
 * The first problem in a parsed body's shape: nested deeper than MAX_NESTING, or a `__proto__` key.
 * Iterative, so a body nested 10,000 deep cannot overflow the stack that checks it.
 */
function shapeProblem(body: unknown): FieldProblem | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: body, path: [] }];
  while (pending.length) {
    const { value, path } = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_NESTING) return { field: fieldOf(path), message: `nested deeper than ${MAX_NESTING} levels` };
    for (const [key, child] of Object.entries(value)) {
      if (key === PROTO_KEY) return { field: fieldOf([...path, key]), message: `"${PROTO_KEY}" is not allowed as a key` };
      pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/** The body's bytes as sent (after decompression), for routes that check a signature over them. */
export function rawBodyOf(request: FastifyRequest): Buffer {
  return rawBodies.get(request) ?? Buffer.alloc(0);
}

/** Reads every body in `scope` as JSON, whatever its Content-Type. */
export function jsonBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    rawBodies.set(request, bytes);
    if (!bytes.length) return done(new BadRequest([{ field: '(body)', message: 'body is empty' }]), undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      return done(new BadRequest([{ field: '(body)', message: `not valid JSON: ${(err as Error).message}` }]), undefined);
    }
    const problem = shapeProblem(parsed);
    done(problem ? new BadRequest([problem]) : null, problem ? undefined : parsed);
  });
}
