/**
 * The webhook channel: a journey step's JSON to an HTTP endpoint, signed per Standard Webhooks when
 * the endpoint has a secret. webhook-id comes from the step's idempotency key, so a receiver drops
 * the repeat of a retried call. 2xx: done, its status on the ledger; 4xx other than 408/429: the
 * request is wrong, permanent; anything else (5xx, timeouts, refused connections): retried.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { PermanentDeliveryError, type ChannelProvider } from './provider.js';

export interface WebhookEndpoint {
  url: string;
  /** Standard Webhooks secret ('whsec_…'); unsigned without one. */
  secret?: string;
}

export interface WebhookCall {
  endpoint: WebhookEndpoint;
  body: unknown;
  timeoutMs: number;
}

export function createWebhookCaller(): ChannelProvider<WebhookCall> {
  return {
    idempotent: true,
    async send({ endpoint, body, timeoutMs }, idempotencyKey) {
      const id = `msg_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}`;
      const now = new Date();
      const payload = JSON.stringify(body);
      const signature: Record<string, string> = endpoint.secret
        ? { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(endpoint.secret).sign(id, now, payload) }
        : { 'webhook-id': id };
      const response = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signature },
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const detail = `HTTP ${response.status}`;
      if (response.ok) return { providerMessageId: id, detail };
      const text = (await response.text()).slice(0, 200);
      if (response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status)) {
        throw new PermanentDeliveryError(`http-${response.status}`, `${detail}: ${text}`);
      }
      throw new Error(`${endpoint.url} answered ${detail}: ${text}`);
    },
  };
}
