/**
 * Retargeting audiences through a signed webhook (Standard Webhooks: webhook-id, webhook-timestamp,
 * webhook-signature). Identifiers are SHA-256 hashed before they leave the process. Membership calls
 * have set semantics, so the receiver may see one twice; webhook-id lets it drop the repeat.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { PermanentDeliveryError, type ChannelProvider } from './provider.js';

export interface AudienceChange {
  audience: string;
  action: 'add' | 'remove';
  userId: string;
  email?: string;
  phone?: string;
}

export interface AudienceWebhookConfig {
  url: string;
  /** Standard Webhooks secret, 'whsec_' followed by base64. */
  secret: string;
  timeoutMs?: number;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export function createAudienceWebhookProvider(config: AudienceWebhookConfig): ChannelProvider<AudienceChange> {
  const webhook = new Webhook(config.secret);
  return {
    idempotent: true,
    async send(change, idempotencyKey) {
      const id = `msg_${sha256(idempotencyKey).slice(0, 32)}`;
      const now = new Date();
      const body = JSON.stringify({
        type: change.action === 'add' ? 'audience.member.added' : 'audience.member.removed',
        timestamp: now.toISOString(),
        data: {
          audience: change.audience,
          userId: change.userId,
          emailSha256: change.email ? sha256(change.email.trim().toLowerCase()) : undefined,
          phoneSha256: change.phone ? sha256(change.phone.replace(/[^\d]/g, '')) : undefined,
        },
      });
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
      if (response.ok) return { providerMessageId: id };
      const detail = `audience webhook answered ${response.status}: ${(await response.text()).slice(0, 200)}`;
      if (response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status)) {
        throw new PermanentDeliveryError(`webhook-${response.status}`, detail);
      }
      throw new Error(detail);
    },
  };
}
