/**
 * An HTTP endpoint for webhook steps: verifies the Standard Webhooks signature, records each call,
 * and answers with scripted statuses (then 202), optionally after a delay.
 */
import { startSignedWebhookServer } from '../../stack/signed-webhook-server.js';

export interface ReceivedCall {
  id: string;
  body: unknown;
  status: number;
}

export interface WebhookReceiver {
  url: string;
  secret: string;
  calls: ReceivedCall[];
  rejected: number;
  /** The next calls are answered with these statuses, in order; then 202. */
  script(...statuses: number[]): void;
  delayMs: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const scripted: number[] = [];
  const state = { delayMs: 0 };
  const calls: ReceivedCall[] = [];
  const server = await startSignedWebhookServer(secret, (body, req, res) => {
    const status = scripted.shift() ?? 202;
    calls.push({ id: String(req.headers['webhook-id']), body, status });
    setTimeout(() => res.writeHead(status).end(status < 300 ? '' : 'scripted failure'), state.delayMs);
  });
  return {
    url: `http://127.0.0.1:${server.port}/hooks/reviews`,
    secret,
    calls,
    get rejected() {
      return server.rejected;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    script: (...statuses) => scripted.push(...statuses),
    close: server.close,
  };
}
