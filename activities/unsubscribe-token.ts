/**
 * Unsubscribe tokens: the recipient, channel and the message's marketing category, signed with
 * HMAC-SHA256, so a link works without a database look-up and cannot be forged to unsubscribe someone
 * else.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const Claims = z.object({ u: z.string().min(1), c: z.enum(['email', 'sms']), k: z.string().optional() });

export interface UnsubscribeClaims {
  userId: string;
  channel: 'email' | 'sms';
  /** The category of the message the link came in: what one click unsubscribes from. */
  category?: string;
}

const sign = (secret: string, payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');

export function unsubscribeToken(secret: string, claims: UnsubscribeClaims): string {
  const payload = Buffer.from(JSON.stringify({ u: claims.userId, c: claims.channel, k: claims.category })).toString('base64url');
  return `${payload}.${sign(secret, payload)}`;
}

/** The claims of a genuine token; undefined for anything forged, truncated or malformed. */
export function verifyUnsubscribeToken(secret: string, token: string): UnsubscribeClaims | undefined {
  const [payload, signature] = token.split('.');
  if (!payload || !signature) return undefined;
  const expected = Buffer.from(sign(secret, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  const claims = Claims.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  if (!claims.success) return undefined;
  return { userId: claims.data.u, channel: claims.data.c, ...(claims.data.k ? { category: claims.data.k } : {}) };
}

export function unsubscribeUrl(baseUrl: string, secret: string, claims: UnsubscribeClaims): string {
  const url = new URL('/unsubscribe', baseUrl);
  url.searchParams.set('token', unsubscribeToken(secret, claims));
  return url.href;
}
