/** SMS through the official twilio SDK; `apiBaseUrl` points it at a Twilio-compatible stand-in. */
import pLimit from 'p-limit';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { countSegments, type SegmentCount } from '../sms-segments.js';
import { NotSentError, PermanentDeliveryError, type ChannelProvider } from './provider.js';

const describeSegments = ({ segments, encoding }: SegmentCount) => `${segments} segment${segments === 1 ? '' : 's'}, ${encoding}`;

export interface SmsMessage {
  to: string;
  body: string;
}

export interface SmsConfig {
  accountSid: string;
  authToken: string;
  /** A sender number or a Messaging Service SID (MG…). */
  from: string;
  statusCallbackUrl?: string;
  /** Replaces https://api.twilio.com, e.g. for a local stand-in. */
  apiBaseUrl?: string;
  /** How long to wait for Twilio's answer (the SDK's default: 30 s); past it the outcome is unknown. */
  timeoutMs?: number;
  /** Requests in flight at once (default 10); the others wait before their hand-over. */
  maxConcurrent?: number;
}

/** The SDK's documented extension point for custom transports: rewrite the origin, keep the rest. */
class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: URL,
    timeout: number | undefined,
  ) {
    super({ timeout });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = new URL(opts.uri);
    uri.protocol = this.baseUrl.protocol;
    uri.host = this.baseUrl.host;
    return super.request<TData>({ ...opts, uri: uri.href });
  }
}

/** Twilio errors no retry can fix; 21610 (recipient replied STOP) also suppresses the channel. */
const PERMANENT_CODES = new Map<number, 'sms-stop' | undefined>([
  [21610, 'sms-stop'],
  [21211, undefined],
  [21614, undefined],
  [21408, undefined],
]);

export function createSmsProvider(config: SmsConfig): ChannelProvider<SmsMessage> {
  const client = twilio(config.accountSid, config.authToken, {
    httpClient: config.apiBaseUrl ? new BaseUrlRequestClient(new URL(config.apiBaseUrl), config.timeoutMs) : new twilio.RequestClient({ timeout: config.timeoutMs }),
  });
  const sender = config.from.startsWith('MG') ? { messagingServiceSid: config.from } : { from: config.from };
  const inFlight = pLimit(config.maxConcurrent ?? 10);
  return {
    idempotent: false,
    send: (message, _key, handOver) =>
      inFlight(async () => {
        await handOver();
        try {
          const sent = await client.messages.create({
            to: message.to,
            body: message.body,
            ...sender,
            ...(config.statusCallbackUrl ? { statusCallback: config.statusCallbackUrl } : {}),
          });
          return { providerMessageId: sent.sid, detail: describeSegments(countSegments(message.body)) };
        } catch (err) {
          throw classified(err as Error & { code?: number | string; status?: number });
        }
      }),
  };
}

/**
 * Twilio's own error answers say the message was not created: permanent for a request no retry can
 * fix, retried for 429 and 500/503. No answer at all (a reset, a timeout) or a gateway's 502/504 may
 * come after Twilio created the message: the outcome is unknown, and the error goes on as it is.
 */
function classified(err: Error & { code?: number | string; status?: number }): Error {
  const { code, status } = err;
  if (typeof code === 'number' && PERMANENT_CODES.has(code)) return new PermanentDeliveryError(`twilio-${code}`, err.message, PERMANENT_CODES.get(code));
  if (status === undefined) return code === 'ECONNREFUSED' ? new NotSentError(err.message) : err;
  if (status === 429 || status === 500 || status === 503) return new NotSentError(err.message);
  if (status >= 400 && status < 500) return new PermanentDeliveryError(`twilio-${code ?? status}`, err.message);
  return err;
}
