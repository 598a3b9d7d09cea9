/**
 * Console sign-in: users and roles from configuration (CONSOLE_USERS), the session in a signed,
 * HttpOnly, SameSite=Strict cookie, so any server instance can check it and nothing is kept in
 * memory. A session names the user and its end; the user's role is read from configuration on every
 * request, so removing a user or changing a role takes effect at once.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

export type ConsoleUser = Pick<Config['CONSOLE_USERS'][number], 'name' | 'role'>;

const COOKIE = 'throughline_session';

export const cookieOptions = (secure: boolean) => ({ path: '/console', httpOnly: true, sameSite: 'strict' as const, secure, signed: true });

export function startSession(reply: FastifyReply, user: ConsoleUser, ttlMs: number, secure: boolean): void {
  reply.setCookie(COOKIE, JSON.stringify({ name: user.name, until: Date.now() + ttlMs }), { ...cookieOptions(secure), maxAge: Math.floor(ttlMs / 1000) });
}

export function endSession(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(COOKIE, cookieOptions(secure));
}

export function sessionUser(request: FastifyRequest, users: Config['CONSOLE_USERS']): ConsoleUser | undefined {
  const raw = request.cookies[COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || !unsigned.value) return undefined;
  try {
    const session = JSON.parse(unsigned.value) as { name?: string; until?: number };
    if (typeof session.until !== 'number' || session.until < Date.now()) return undefined;
    const user = users.find((u) => u.name === session.name);
    return user && { name: user.name, role: user.role };
  } catch {
    return undefined;
  }
}
