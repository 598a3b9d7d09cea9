/**
 * A retargeting platform stand-in: receives audience webhooks, rejects any whose Standard Webhooks
 * signature does not verify, and keeps membership with set semantics (a repeat changes nothing).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface AudienceCall {
  type: 'audience.member.added' | 'audience.member.removed';
  audience: string;
  userId: string;
  emailSha256?: string;
}

export interface AudienceReceiver {
  url: string;
  secret: string;
  calls: AudienceCall[];
  rejected: number;
  members(audience: string): string[];
  close(): Promise<void>;
}

export async function startAudienceReceiver(secret: string): Promise<AudienceReceiver> {
  const verifier = new Webhook(secret);
  const calls: AudienceCall[] = [];
  const membership = new Map<string, Set<string>>();
  const receiver = { rejected: 0 };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      let payload: { type: AudienceCall['type']; data: Omit<AudienceCall, 'type'> };
      try {
        payload = verifier.verify(raw, req.headers as Record<string, string>) as typeof payload;
      } catch {
        receiver.rejected++;
        res.writeHead(401).end('bad signature');
        return;
      }
      calls.push({ type: payload.type, ...payload.data });
      const members = membership.get(payload.data.audience) ?? new Set<string>();
      if (payload.type === 'audience.member.added') members.add(payload.data.userId);
      else members.delete(payload.data.userId);
      membership.set(payload.data.audience, members);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/audiences`,
    secret,
    calls,
    get rejected() {
      return receiver.rejected;
    },
    members: (audience) => [...(membership.get(audience) ?? [])],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
