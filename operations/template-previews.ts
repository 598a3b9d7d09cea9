/**
 * A template rendered for a real customer, as their send would render it (the unsubscribe link
 * included), and sent to a test inbox or phone: no policy, no ledger, marked [test]. The CLI's
 * `templates preview|test-send` and the console's templates page.
 */
import { required, type Config } from '../config.js';
import { toE164 } from '../activities/phone-number.js';
import { createEmailProvider } from '../activities/providers/email.js';
import { unclaimed } from '../activities/providers/provider.js';
import { createSmsProvider } from '../activities/providers/sms.js';
import { templateContext, type RenderedMessage, type TemplateRenderer } from '../activities/templates.js';
import { unsubscribeUrl as buildUnsubscribeUrl } from '../activities/unsubscribe-token.js';
import type { Database } from '../store/db.js';
import { loadProfile } from '../store/profiles.js';

export interface Preview {
  rendered: RenderedMessage;
  unsubscribeUrl?: string;
  /** False when the customer has no profile: the template was rendered with empty traits. */
  profileFound: boolean;
}

export async function renderForCustomer(
  deps: { config: Config; db: Database; templates: TemplateRenderer },
  template: string,
  userId: string,
  event: Record<string, unknown> = {},
): Promise<Preview> {
  const channel = deps.templates.has(template, 'email') ? 'email' : deps.templates.has(template, 'sms') ? 'sms' : undefined;
  if (!channel) throw new Error(`no template "${template}" in this build`);
  const profile = await loadProfile(deps.db.collections.profiles, userId);
  const unsubscribeUrl = channel === 'email' ? buildUnsubscribeUrl(deps.config.PUBLIC_BASE_URL, required(deps.config, 'UNSUBSCRIBE_SECRET'), { userId, channel }) : undefined;
  const context = templateContext({ traits: profile?.traits ?? {}, event, journey: { id: 'preview', step: template }, unsubscribeUrl });
  return { rendered: await deps.templates.render(template, channel, context), unsubscribeUrl, profileFound: profile !== undefined };
}

/** Sends a preview to `to` (an address, or a phone number for SMS); returns where it went and the provider's id. */
export async function sendTestMessage(config: Config, preview: Preview, to: string, key: string): Promise<{ to: string; providerMessageId?: string }> {
  const { rendered, unsubscribeUrl } = preview;
  if (rendered.channel === 'email') {
    const email = createEmailProvider({ smtpUrl: config.SMTP_URL, from: config.EMAIL_FROM });
    try {
      const { channel: _channel, subject, ...content } = rendered;
      const receipt = await email.send({ ...content, subject: `[test] ${subject}`, to, unsubscribeUrl }, key, unclaimed);
      return { to, providerMessageId: receipt.providerMessageId };
    } finally {
      email.close();
    }
  }
  const phone = toE164(to, config.DEFAULT_PHONE_REGION);
  if (!phone) throw new Error(`"${to}" is not a valid phone number`);
  const sms = createSmsProvider({ accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN, from: config.TWILIO_FROM, apiBaseUrl: config.TWILIO_API_BASE_URL });
  const receipt = await sms.send({ to: phone, body: `[test] ${rendered.body}` }, key, unclaimed);
  return { to: phone, providerMessageId: receipt.providerMessageId };
}
