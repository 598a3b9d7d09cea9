import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { describeIssues } from '../events/segment-schema.js';
import type { FieldProblem } from '../store/field-rules.js';

/** A payload that failed validation: answered 400 with every bad field named. */
export class BadRequest extends Error {
  readonly statusCode = 400;
  constructor(readonly problems: FieldProblem[]) {
    super('invalid payload');
  }
}

/** Any other refusal of what the caller sent (415, 413, 422…), with its reason. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The body (or query) as the schema reads it, or a BadRequest naming every bad field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw new BadRequest(describeIssues(result.error));
  return result.data;
}

/**
 * 4xx for what the caller sent, with the reason; anything else means Temporal or MongoDB could not
 * take the request: it was not acted on, and CDPs retry on 5xx with Retry-After.
 */
export function handleError(err: Error & { statusCode?: number; code?: unknown }, request: FastifyRequest, reply: FastifyReply) {
  if (err instanceof BadRequest) return reply.code(400).send({ error: 'invalid payload', problems: err.problems });
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request.routeOptions.bodyLimit ?? 0;
    return reply.code(413).send({ error: `body is larger than ${limit / 1024} KB (counted after decompression)` });
  }
  // A compressed body that does not decode.
  if (typeof err.code === 'string' && err.code.startsWith('Z_')) return reply.code(400).send({ error: `body does not decode: ${err.message}` });
  if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
  request.log.error({ err }, 'request not accepted');
  return reply.code(503).header('retry-after', '5').send({ error: 'temporarily unavailable, retry later' });
}
