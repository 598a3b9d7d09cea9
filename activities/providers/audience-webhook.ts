/**
 * Retargeting audiences through a signed webhook (Standard Webhooks: webhook-id, webhook-timestamp,
 * webhook-signature), one call per audience and batch. Only hashed identifiers and the userId leave
 * the process. webhook-id is derived from the content, so a receiver can drop a repeated call.
 */
import { checkResponse, type AudienceProvider } from './audience-provider.js';
import { postSignedJson, webhookIdFor } from './signed-webhook.js';

export interface AudienceWebhookConfig {
  url: string;
  /** Standard Webhooks secret, 'whsec_' followed by base64. */
  secret: string;
  timeoutMs?: number;
}

export function createAudienceWebhookProvider(config: AudienceWebhookConfig): AudienceProvider {
  return {
    name: 'webhook',
    maxBatch: 1_000,
    async sync(audience, add, remove) {
      const now = new Date();
      const data = { audience, add, remove };
      const body = JSON.stringify({ type: 'audience.members.changed', timestamp: now.toISOString(), data });
      const response = await postSignedJson(config.url, { id: webhookIdFor(JSON.stringify(data)), body, secret: config.secret, timeoutMs: config.timeoutMs ?? 10_000, now });
      await checkResponse(response, 'audience webhook');
    },
  };
}
