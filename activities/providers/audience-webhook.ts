/**
 * Retargeting audiences through a signed webhook (Standard Webhooks: webhook-id, webhook-timestamp,
 * webhook-signature), one call per audience and batch. Only hashed identifiers and the userId leave
 * the process. webhook-id is derived from the content, so a receiver can drop a repeated call.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { checkResponse, type AudienceProvider } from './audience-provider.js';

export interface AudienceWebhookConfig {
  url: string;
  /** Standard Webhooks secret, 'whsec_' followed by base64. */
  secret: string;
  timeoutMs?: number;
}

export function createAudienceWebhookProvider(config: AudienceWebhookConfig): AudienceProvider {
  const webhook = new Webhook(config.secret);
  return {
    name: 'webhook',
    maxBatch: 1_000,
    async sync(audience, add, remove) {
      const now = new Date();
      const data = { audience, add, remove };
      const id = `msg_${createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 32)}`;
      const body = JSON.stringify({ type: 'audience.members.changed', timestamp: now.toISOString(), data });
      const response = await fetch(config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': webhook.sign(id, now, body),
        },
        body,
        signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
      });
      await checkResponse(response, 'audience webhook');
    },
  };
}
