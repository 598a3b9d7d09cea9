/**
 * A stand-in for Meta's Marketing API custom-audience endpoints: POST and DELETE
 * /<version>/<audience id>/users with { payload: { schema, data }, access_token }. It refuses a wrong
 * token, an unknown schema or a row that is not two SHA-256 hashes, and keeps membership as sets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetaStandIn {
  url: string;
  calls: Array<{ method: string; audienceId: string; rows: string[][] }>;
  /** Hashed email per audience id. */
  members(audienceId: string): string[];
  close(): Promise<void>;
}

const HASH = /^[0-9a-f]{64}$/;

export async function startMetaStandIn(accessToken: string): Promise<MetaStandIn> {
  const calls: MetaStandIn['calls'] = [];
  const membership = new Map<string, Set<string>>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const match = /^\/v\d+\.\d+\/(\d+)\/users$/.exec(req.url ?? '');
      const body = JSON.parse(raw || '{}') as { access_token?: string; payload?: { schema?: string[]; data?: string[][] } };
      const fail = (status: number, message: string) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message } }));
      if (!match || !['POST', 'DELETE'].includes(req.method ?? '')) return fail(404, 'unknown path');
      if (body.access_token !== accessToken) return fail(401, 'Invalid OAuth access token');
      const { schema, data } = body.payload ?? {};
      if (JSON.stringify(schema) !== JSON.stringify(['EMAIL_SHA256', 'PHONE_SHA256'])) return fail(400, `unexpected schema ${JSON.stringify(schema)}`);
      if (!data?.length || data.length > 10_000) return fail(400, 'between 1 and 10000 rows per call');
      if (data.some((row) => row.length !== 2 || !row.some((v) => HASH.test(v)) || row.some((v) => v !== '' && !HASH.test(v)))) return fail(400, 'rows must be SHA-256 hashes');
      const audienceId = match[1]!;
      calls.push({ method: req.method!, audienceId, rows: data });
      const members = membership.get(audienceId) ?? new Set<string>();
      for (const [email] of data) (req.method === 'POST' ? members.add(email!) : members.delete(email!));
      membership.set(audienceId, members);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ audience_id: audienceId, num_received: data.length, num_invalid_entries: 0 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    members: (audienceId) => [...(membership.get(audienceId) ?? [])],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
