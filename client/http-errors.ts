import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FieldProblem } from './segment-schema.js';

/** A payload that failed validation: answered 400 with every bad field named. */
export class BadRequest extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super('invalid payload');
  }
}

/**
 * 4xx for what the caller sent; anything else means Temporal or MongoDB could not take the event:
 * it was not acted on, and CDPs retry on 5xx with Retry-After.
 */
export function handleError(err: Error & { statusCode?: number }, request: FastifyRequest, reply: FastifyReply) {
  if (err instanceof BadRequest) return reply.code(400).send({ error: 'invalid payload', problems: err.problems });
  if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
  request.log.error({ err }, 'event not accepted');
  return reply.code(503).header('retry-after', '5').send({ error: 'temporarily unavailable, retry later' });
}
