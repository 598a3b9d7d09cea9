/**
 * An HTTP endpoint for webhook steps: verifies the Standard Webhooks signature, records each call,
 * and answers with scripted statuses (then 202), optionally after a delay.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

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
  const verifier = new Webhook(secret);
  const scripted: number[] = [];
  const state = { rejected: 0, delayMs: 0 };
  const calls: ReceivedCall[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      let body: unknown;
      try {
        body = verifier.verify(raw, req.headers as Record<string, string>);
      } catch {
        state.rejected++;
        res.writeHead(401).end('bad signature');
        return;
      }
      const status = scripted.shift() ?? 202;
      calls.push({ id: String(req.headers['webhook-id']), body, status });
      setTimeout(() => res.writeHead(status).end(status < 300 ? '' : 'scripted failure'), state.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/reviews`,
    secret,
    calls,
    get rejected() {
      return state.rejected;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    script: (...statuses) => scripted.push(...statuses),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
