/** SMS through the official twilio SDK; `apiBaseUrl` points it at a Twilio-compatible stand-in. */
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { countSegments, type SegmentCount } from '../sms-segments.js';
import { PermanentDeliveryError, type ChannelProvider } from './provider.js';

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
}

/** The SDK's documented extension point for custom transports: rewrite the origin, keep the rest. */
class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: URL) {
    super();
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
    httpClient: config.apiBaseUrl ? new BaseUrlRequestClient(new URL(config.apiBaseUrl)) : undefined,
  });
  const sender = config.from.startsWith('MG') ? { messagingServiceSid: config.from } : { from: config.from };
  return {
    idempotent: false,
    async send(message) {
      try {
        const sent = await client.messages.create({
          to: message.to,
          body: message.body,
          ...sender,
          ...(config.statusCallbackUrl ? { statusCallback: config.statusCallbackUrl } : {}),
        });
        return { providerMessageId: sent.sid, detail: describeSegments(countSegments(message.body)) };
      } catch (err) {
        const { code, status } = err as { code?: number; status?: number };
        if (code !== undefined && PERMANENT_CODES.has(code)) {
          throw new PermanentDeliveryError(`twilio-${code}`, (err as Error).message, PERMANENT_CODES.get(code));
        }
        if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
          throw new PermanentDeliveryError(`twilio-${code ?? status}`, (err as Error).message);
        }
        throw err;
      }
    },
  };
}
