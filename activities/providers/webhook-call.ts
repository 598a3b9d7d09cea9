/**
 * The webhook channel: a journey step's JSON to an HTTP endpoint, signed per Standard Webhooks when
 * the endpoint has a secret. webhook-id comes from the step's idempotency key, so a receiver drops
 * the repeat of a retried call. 2xx: done, its status on the ledger; 4xx other than 408/429: the
 * request is wrong, permanent; anything else (5xx, timeouts, refused connections): retried.
 */
import { PermanentDeliveryError, type ChannelProvider } from './provider.js';
import { postSignedJson, webhookIdFor } from './signed-webhook.js';

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
    async send({ endpoint, body, timeoutMs }, idempotencyKey, handOver) {
      const id = webhookIdFor(idempotencyKey);
      await handOver();
      const response = await postSignedJson(endpoint.url, { id, body: JSON.stringify(body), secret: endpoint.secret, timeoutMs });
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
