/** Email through nodemailer's pooled SMTP transport, reused across sends by the worker. */
import { createHash } from 'node:crypto';
import net from 'node:net';
import nodemailer from 'nodemailer';
import { PermanentDeliveryError, type ChannelProvider } from './provider.js';

export interface EmailMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Marketing mail: sent as List-Unsubscribe with RFC 8058 one-click (List-Unsubscribe-Post). */
  unsubscribeUrl?: string;
}

export interface EmailConfig {
  /** e.g. smtp://user:pass@mail.example.com:587 */
  smtpUrl: string;
  from: string;
  dkim?: { domainName: string; keySelector: string; privateKey: string };
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
      const messageId = `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${domain}>`;
      try {
        const { unsubscribeUrl, ...content } = message;
        const headers = unsubscribeUrl
          ? { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
          : undefined;
        const dkim = config.dkim && { ...config.dkim, headerFieldNames: DKIM_SIGNED_HEADERS };
        const info = await transport.sendMail({ from: config.from, messageId, headers, dkim, ...content });
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
