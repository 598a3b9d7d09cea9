/**
 * A retargeting platform stand-in: receives batched audience webhooks, rejects any whose Standard
 * Webhooks signature does not verify, and keeps membership with set semantics (a repeat changes
 * nothing). Each member added or removed is one entry in `calls`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface AudienceCall {
  type: 'audience.member.added' | 'audience.member.removed';
  audience: string;
  userId: string;
  emailSha256?: string;
  phoneSha256?: string;
}

interface BatchPayload {
  type: 'audience.members.changed';
  data: { audience: string; add: Array<Omit<AudienceCall, 'type' | 'audience'>>; remove: Array<Omit<AudienceCall, 'type' | 'audience'>> };
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
      let payload: BatchPayload;
      try {
        payload = verifier.verify(raw, req.headers as Record<string, string>) as BatchPayload;
      } catch {
        receiver.rejected++;
        res.writeHead(401).end('bad signature');
        return;
      }
      const { audience, add, remove } = payload.data;
      const members = membership.get(audience) ?? new Set<string>();
      for (const member of add) {
        calls.push({ type: 'audience.member.added', audience, ...member });
        members.add(member.userId);
      }
      for (const member of remove) {
        calls.push({ type: 'audience.member.removed', audience, ...member });
        members.delete(member.userId);
      }
      membership.set(audience, members);
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
