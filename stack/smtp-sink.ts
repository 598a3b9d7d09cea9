/**
 * A real SMTP server (smtp-server) that parses what arrives (mailparser). The demo's mail catcher
 * and the tests' mailbox. `respond` lets a test answer a message the way a receiving MTA might.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { waitUntil } from './wait-until.js';

/** A message as it arrived: parsed, its exact bytes (what signatures cover), when its last byte came, and its SMTP envelope sender (the return path). */
export type ReceivedMail = ParsedMail & { raw: Buffer; arrivedAt: number; envelopeFrom: string };

export interface SmtpSink {
  url: string;
  messages: ReceivedMail[];
  /** The messages with this recipient address (exact, case-insensitive), in arrival order. */
  messagesTo(address: string): ReceivedMail[];
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  /**
   * Called once a message has fully arrived, before the server answers. Return an SMTP code to
   * reject it (e.g. 550, 451); throwing or never resolving models a server that dies before answering.
   */
  respond?: (message: ReceivedMail) => Promise<number | undefined> | number | undefined;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Closing drops within 2 s a client that still holds a session open (a sender cut mid-send), not 30.
    closeTimeout: 2_000,
    onData(stream, session, callback) {
      const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      new Promise<{ raw: Buffer; arrivedAt: number; envelopeFrom: string }>((resolve, reject) => {
        stream.once('end', () => resolve({ raw: Buffer.concat(chunks), arrivedAt: Date.now(), envelopeFrom }));
        stream.once('error', reject);
      })
        .then(async (arrival) => Object.assign(await simpleParser(arrival.raw), arrival))
        .then(async (message) => {
          const code = await options.respond?.(message);
          if (code && code >= 400) {
            callback(Object.assign(new Error(`rejected by the test mailbox (${code})`), { responseCode: code }));
            return;
          }
          messages.push(message);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  // A client that dies mid-session (a killed worker) resets its connection: that ends the session,
  // never the process hosting this server.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    messagesTo(address) {
      const wanted = address.toLowerCase();
      const recipients = (m: ReceivedMail) => [m.to ?? []].flat().flatMap((to) => to.value.map((v) => v.address?.toLowerCase()));
      return messages.filter((m) => recipients(m).includes(wanted));
    },
    async waitForMessages(count, timeoutMs = 30_000) {
      await waitUntil(() => messages.length >= count, timeoutMs, `${count} email(s) at the SMTP sink`);
      return messages;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
