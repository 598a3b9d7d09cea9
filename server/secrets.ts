/** Comparing what a caller sent with a secret, in constant time, so timing does not leak the secret. */
import type { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';

export function sameSecret(given: string, expected: string): boolean {
  const [x, y] = [Buffer.from(given), Buffer.from(expected)];
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The request carries `Authorization: Bearer <secret>`. */
export function hasBearer(request: FastifyRequest, secret: string): boolean {
  return sameSecret(request.headers.authorization ?? '', `Bearer ${secret}`);
}
