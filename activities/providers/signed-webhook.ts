/**
 * A JSON POST the way Standard Webhooks specifies it (webhook-id, webhook-timestamp,
 * webhook-signature), shared by the webhook step and the audience webhook. The id is derived from
 * what it names, so a retried call carries the same id and the receiver can drop the repeat.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export const webhookIdFor = (text: string) => `msg_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;

export function postSignedJson(url: string, call: { id: string; body: string; secret?: string; timeoutMs: number; now?: Date }): Promise<Response> {
  const now = call.now ?? new Date();
  const signature: Record<string, string> = call.secret
    ? { 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(call.secret).sign(call.id, now, call.body) }
    : {};
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': call.id, ...signature },
    body: call.body,
    signal: AbortSignal.timeout(call.timeoutMs),
  });
}
