/**
 * A local stand-in for Twilio's Messages API (2010-04-01), enough for the real twilio SDK: Basic auth
 * with the account SID, form-encoded Create Message, Twilio's JSON resource and error shapes. Numbers
 * listed in `failures` answer with Twilio's error for them (e.g. 21610 for a recipient who sent STOP).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntil } from './wait-until.js';

export interface TwilioFailure {
  status: number;
  code: number;
  message: string;
}

export interface SentSms {
  sid: string;
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body: string;
  statusCallback?: string;
  /** When the stand-in took the request (ms since the epoch). */
  receivedAt: number;
}

export interface TwilioStandIn {
  url: string;
  accountSid: string;
  authToken: string;
  messages: SentSms[];
  failures: Map<string, TwilioFailure>;
  /** Set by a test: asked per request, any number; a failure returned is answered instead of sending. */
  refuse?: (to: string) => TwilioFailure | undefined;
  /** The messages created for this number, in order. */
  messagesTo(to: string): SentSms[];
  waitForMessages(count: number, timeoutMs?: number): Promise<SentSms[]>;
  close(): Promise<void>;
}

export async function startTwilioStandIn(
  credentials = { accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex') },
): Promise<TwilioStandIn> {
  const messages: SentSms[] = [];
  const failures = new Map<string, TwilioFailure>();
  const expectedAuth = `Basic ${Buffer.from(`${credentials.accountSid}:${credentials.authToken}`).toString('base64')}`;
  const path = `/2010-04-01/Accounts/${credentials.accountSid}/Messages.json`;

  const answer = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const error = (res: http.ServerResponse, f: TwilioFailure) =>
    answer(res, f.status, { code: f.code, message: f.message, more_info: `https://www.twilio.com/docs/errors/${f.code}`, status: f.status });

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.headers.authorization !== expectedAuth) return error(res, { status: 401, code: 20003, message: 'Authenticate' });
      if (req.method !== 'POST' || req.url !== path) return error(res, { status: 404, code: 20404, message: 'The requested resource was not found' });
      const form = new URLSearchParams(raw);
      const to = form.get('To');
      const body = form.get('Body');
      const from = form.get('From') ?? undefined;
      const messagingServiceSid = form.get('MessagingServiceSid') ?? undefined;
      if (!to) return error(res, { status: 400, code: 21604, message: "A 'To' phone number is required." });
      if (!body) return error(res, { status: 400, code: 21602, message: 'Message body is required.' });
      if (!from && !messagingServiceSid) return error(res, { status: 400, code: 21603, message: "A 'From' phone number is required." });
      const failure = failures.get(to) ?? standIn.refuse?.(to);
      if (failure) return error(res, failure);
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const statusCallback = form.get('StatusCallback') ?? undefined;
      messages.push({ sid, to, from, messagingServiceSid, body, statusCallback, receivedAt: Date.now() });
      const now = new Date().toUTCString();
      answer(res, 201, {
        sid, account_sid: credentials.accountSid, to, from: from ?? null, messaging_service_sid: messagingServiceSid ?? null,
        body, status: 'queued', num_segments: '1', direction: 'outbound-api', api_version: '2010-04-01',
        date_created: now, date_updated: now, date_sent: null, price: null, price_unit: 'USD', error_code: null,
        error_message: null, uri: `${path.replace('.json', '')}/${sid}.json`, subresource_uris: {},
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const standIn: TwilioStandIn = {
    url: `http://127.0.0.1:${port}`,
    ...credentials,
    messages,
    failures,
    messagesTo: (to) => messages.filter((m) => m.to === to),
    async waitForMessages(count, timeoutMs = 30_000) {
      await waitUntil(() => messages.length >= count, timeoutMs, `${count} SMS at the Twilio stand-in`);
      return messages;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return standIn;
}
