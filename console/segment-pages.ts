/**
 * The console's segment pages: every segment version of the build with its size now and today's
 * joins and leaves, and one version's definition, joins and leaves per day over two weeks, its
 * backfill and its members, searchable by userId, email or phone. Read-only: segments are code.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../store/db.js';
import { findMembers, type SegmentMemberDoc } from '../store/segment-memberships.js';
import { segmentOverview } from '../reports/segment-report.js';
import { segmentVersions } from '../segments/definitions/index.js';
import { segmentKey } from '../segments/sdk/segment.js';
import { customersMatching } from './customer-search.js';

export interface SegmentPagesOptions {
  db: Database;
  page: (reply: FastifyReply, request: FastifyRequest, view: string, data: Record<string, unknown>, status?: number) => Promise<FastifyReply>;
  shownId: (request: FastifyRequest, id: string) => string;
}

const MEMBERS_SHOWN = 100;

export function registerSegmentPages(app: FastifyInstance, { db, page, shownId }: SegmentPagesOptions): void {
  app.get('/console/segments', async (request, reply) => {
    const segments = await Promise.all(
      segmentVersions.map(async (segment) => {
        const overview = await segmentOverview(db, segment, 1);
        return { ...overview, today: overview.perDay[0]! };
      }),
    );
    return page(reply, request, 'segments', { title: 'Segments', segments });
  });

  app.get<{ Params: { segmentId: string }; Querystring: { version?: string; q?: string } }>('/console/segments/:segmentId', async (request, reply) => {
    const versions = segmentVersions.filter((s) => s.id === request.params.segmentId);
    if (!versions.length) return page(reply, request, 'login', { title: 'Not found', error: `No segment "${request.params.segmentId}" in this build.` }, 404);
    const segment = request.query.version ? versions.find((s) => String(s.version) === request.query.version) : versions.at(-1);
    if (!segment) return page(reply, request, 'login', { title: 'Not found', error: `${request.params.segmentId} has no version ${request.query.version}.` }, 404);
    const key = segmentKey(segment);
    const q = (request.query.q ?? '').trim().slice(0, 255);
    const members: SegmentMemberDoc[] = q
      ? (await Promise.all((await customersMatching(db, q)).map((userId) => findMembers(db.collections.segmentMembers, key, { userId, limit: 1 })))).flat()
      : await findMembers(db.collections.segmentMembers, key, { limit: MEMBERS_SHOWN });
    const overview = await segmentOverview(db, segment);
    const busiest = Math.max(1, ...overview.perDay.map((d) => Math.max(d.joined, d.left)));
    return page(reply, request, 'segment', {
      title: key,
      overview,
      versions: versions.map((s) => s.version),
      conditions: JSON.stringify(segment.where, null, 2),
      perDay: overview.perDay.map((d) => ({ ...d, joinedBar: Math.round((100 * d.joined) / busiest), leftBar: Math.round((100 * d.left) / busiest) })),
      q: shownId(request, q),
      members: members.map((m) => ({ href: encodeURIComponent(m.userId), label: shownId(request, m.userId), since: m.since, decidedBy: m.decidedBy })),
      capped: !q && members.length === MEMBERS_SHOWN,
    });
  });
}
