/**
 * A retargeting platform stand-in: receives batched audience webhooks, rejects any whose Standard
 * Webhooks signature does not verify, and keeps membership with set semantics (a repeat changes
 * nothing). Each member added or removed is one entry in `calls`.
 */
import { startSignedWebhookServer } from './signed-webhook-server.js';

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
  const calls: AudienceCall[] = [];
  const membership = new Map<string, Set<string>>();
  const server = await startSignedWebhookServer(secret, (payload, _req, res) => {
    const { audience, add, remove } = (payload as BatchPayload).data;
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
  return {
    url: `http://127.0.0.1:${server.port}/audiences`,
    secret,
    calls,
    get rejected() {
      return server.rejected;
    },
    members: (audience) => [...(membership.get(audience) ?? [])],
    close: server.close,
  };
}
