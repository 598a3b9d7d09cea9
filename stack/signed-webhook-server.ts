/**
 * A local HTTP server for Standard Webhooks posts, as the stand-ins that receive them need one: it
 * reads each body, refuses (401) and counts any whose signature does not verify, and hands the
 * verified payload on to answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface SignedWebhookServer {
  port: number;
  /** Posts refused for a bad or missing signature. */
  readonly rejected: number;
  close(): Promise<void>;
}

export async function startSignedWebhookServer(
  secret: string,
  onVerified: (payload: unknown, req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<SignedWebhookServer> {
  const verifier = new Webhook(secret);
  let rejected = 0;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      let payload: unknown;
      try {
        payload = verifier.verify(raw, req.headers as Record<string, string>);
      } catch {
        rejected++;
        res.writeHead(401).end('bad signature');
        return;
      }
      onVerified(payload, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get rejected() {
      return rejected;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Answers held back on purpose (a test's delay) must not keep the server open.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
