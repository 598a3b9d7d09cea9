/**
 * One token per send, derived from its idempotency key: the local part of its Message-ID and of its
 * VERP return path (bounces+<token>@<bounce domain>). An asynchronous bounce, addressed to the return
 * path, names the token, and the token finds the send in the ledger (by its Message-ID).
 */
import { createHash } from 'node:crypto';

export const sendToken = (idempotencyKey: string) => createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);

export const verpAddress = (token: string, bounceDomain: string) => `bounces+${token}@${bounceDomain}`;

/** The send token in a VERP return path, if the address is one. */
export function tokenOfVerp(address: string): string | undefined {
  return /^bounces\+([0-9a-f]{32})@/i.exec(address.trim())?.[1]?.toLowerCase();
}
