import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { describeIssues, type FieldProblem } from '../events/segment-schema.js';

/** A payload that failed validation: answered 400 with every bad field named. */
export class BadRequest extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super('invalid payload');
  }
}

/** The body as the schema reads it, or a BadRequest naming every bad field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw new BadRequest(describeIssues(result.error));
  return result.data;
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
