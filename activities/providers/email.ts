/** Email: built by nodemailer (MIME, DKIM), sent over the worker's pool of SMTP connections. */
import nodemailer from 'nodemailer';
import { sendToken, verpAddress } from '../verp.js';
import { NotSentError, PermanentDeliveryError, type ChannelProvider } from './provider.js';
import { createSmtpPool, sendOn } from './smtp-pool.js';

export interface EmailMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** The template's own sender; default: the configured one. */
  from?: string;
  /** Marketing mail: sent as List-Unsubscribe with RFC 8058 one-click (List-Unsubscribe-Post). */
  unsubscribeUrl?: string;
}

export interface EmailConfig {
  /** e.g. smtp://user:pass@mail.example.com:587 */
  smtpUrl: string;
  from: string;
  dkim?: { domainName: string; keySelector: string; privateKey: string };
  /**
   * How long to wait for the server to connect, greet, or answer a command. Past it before the
   * message is handed over, the send is retried; after, its outcome is unknown. Default 30 s.
   */
  timeoutMs?: number;
  /** Pooled SMTP connections per worker (default 5): sends beyond them wait, unclaimed. */
  maxConnections?: number;
  /** At most this many messages a second per worker. */
  ratePerSecond?: number;
  /** Set: each send's return path is bounces+<token>@<bounceDomain> (VERP), see activities/verp.ts. */
  bounceDomain?: string;
}

/**
 * nodemailer's default signed headers plus List-Unsubscribe-Post: RFC 8058 wants both one-click
 * headers covered by the signature, or receivers will not offer one-click unsubscribe.
 */
const DKIM_SIGNED_HEADERS = [
  'From', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'Cc', 'MIME-Version', 'Content-Type',
  'Content-Transfer-Encoding', 'Content-ID', 'Content-Description', 'In-Reply-To', 'References',
  'List-Id', 'List-Help', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'List-Subscribe', 'List-Post', 'List-Owner', 'List-Archive',
].join(':');

export function createEmailProvider(config: EmailConfig): ChannelProvider<EmailMessage> & { close(): void } {
  // The message is built (MIME, DKIM) apart from its delivery, so a send is handed over only once a
  // connection is ready and the rest of the SMTP session is all that can fail.
  const compiler = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const pool = createSmtpPool({ url: config.smtpUrl, size: config.maxConnections ?? 5, timeoutMs: config.timeoutMs ?? 30_000, ratePerSecond: config.ratePerSecond });
  const domain = config.from.replace(/^.*@/, '').replace(/>.*$/, '') || 'throughline.local';
  return {
    idempotent: false,
    async send(message, idempotencyKey, handOver) {
      // The same step always carries the same Message-ID, so receivers and our logs can tie it back.
      const token = sendToken(idempotencyKey);
      const messageId = `<${token}@${domain}>`;
      const envelope = config.bounceDomain ? { from: verpAddress(token, config.bounceDomain), to: message.to } : undefined;
      const { unsubscribeUrl, ...content } = message;
      const headers = unsubscribeUrl ? { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : undefined;
      const dkim = config.dkim && { ...config.dkim, headerFieldNames: DKIM_SIGNED_HEADERS };
      const compiled = await compiler.sendMail({ messageId, headers, dkim, envelope, ...content, from: content.from ?? config.from });
      return pool.use(async (connection) => {
        await handOver();
        try {
          await sendOn(connection, compiled.envelope, compiled.message as Buffer);
          return { providerMessageId: messageId };
        } catch (err) {
          // A numbered answer is the server refusing the message, so it certainly did not take it.
          // Anything else (a timeout, a reset) may have come after the server had the whole message.
          const code = (err as { responseCode?: number }).responseCode;
          if (code !== undefined && code >= 500) throw new PermanentDeliveryError(`smtp-${code}`, (err as Error).message, 'hard-bounce');
          if (code !== undefined && code >= 400) throw new NotSentError((err as Error).message);
          throw err;
        }
      });
    },
    close: () => pool.close(),
  };
}
