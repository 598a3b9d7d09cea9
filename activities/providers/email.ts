/** Email through nodemailer's pooled SMTP transport, reused across sends by the worker. */
import net from 'node:net';
import nodemailer from 'nodemailer';
import { sendToken, verpAddress } from '../verp.js';
import { PermanentDeliveryError, type ChannelProvider } from './provider.js';

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
   * How long to wait for the server to connect, greet, or answer a command (nodemailer's own defaults
   * run to minutes); past it the send fails as transient and Temporal retries it. Default 30 s.
   */
  timeoutMs?: number;
  /** Pooled SMTP connections per worker (nodemailer's maxConnections; default 5). */
  maxConnections?: number;
  /** At most this many messages a second per worker, through nodemailer's pool rate limit. */
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
  // `pool` only takes effect in the URL form; the options form silently opens a connection per mail.
  const url = new URL(config.smtpUrl);
  url.searchParams.set('pool', 'true');
  if (config.maxConnections) url.searchParams.set('maxConnections', String(config.maxConnections));
  for (const timeout of ['connectionTimeout', 'greetingTimeout', 'socketTimeout']) url.searchParams.set(timeout, String(config.timeoutMs ?? 30_000));
  if (config.ratePerSecond) {
    url.searchParams.set('rateDelta', '1000');
    url.searchParams.set('rateLimit', String(config.ratePerSecond));
  }
  const transport = nodemailer.createTransport(url.href);
  if (url.protocol === 'smtp:') {
    // Nagle's algorithm holds each message's second chunk until the server's delayed ACK, about 40 ms
    // a mail; a no-delay socket sends ~7x faster. (STARTTLS still upgrades this socket; smtps:// keeps
    // nodemailer's own TLS socket.)
    Object.assign(transport, {
      getSocket(options: { host: string; port: number }, callback: (err: Error | null, socket?: { connection: net.Socket }) => void) {
        const socket = net.connect({ host: options.host, port: options.port, noDelay: true }, () => callback(null, { connection: socket }));
        socket.once('error', (err) => callback(err));
      },
    });
  }
  const domain = config.from.replace(/^.*@/, '').replace(/>.*$/, '') || 'throughline.local';
  return {
    idempotent: false,
    async send(message, idempotencyKey) {
      // The same step always carries the same Message-ID, so receivers and our logs can tie it back.
      const token = sendToken(idempotencyKey);
      const messageId = `<${token}@${domain}>`;
      const envelope = config.bounceDomain ? { from: verpAddress(token, config.bounceDomain), to: message.to } : undefined;
      try {
        const { unsubscribeUrl, ...content } = message;
        const headers = unsubscribeUrl
          ? { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
          : undefined;
        const dkim = config.dkim && { ...config.dkim, headerFieldNames: DKIM_SIGNED_HEADERS };
        const info = await transport.sendMail({ messageId, headers, dkim, envelope, ...content, from: content.from ?? config.from });
        return { providerMessageId: info.messageId };
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500) {
          throw new PermanentDeliveryError(`smtp-${code}`, (err as Error).message, 'hard-bounce');
        }
        throw err;
      }
    },
    close: () => transport.close(),
  };
}
