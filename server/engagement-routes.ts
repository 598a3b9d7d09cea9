/**
 * Where tracked links and open pixels land (see activities/engagement-links.ts):
 *   GET|HEAD /t/c/:token/:link/:signature   a click in an email: 302 to the original URL
 *   GET      /t/o/:token/:signature.gif     an open: a 1x1 GIF
 *   GET|HEAD /s/:code                        a click on an SMS short link: 302 to the original URL
 * Each hit is recorded (store/engagement.ts); a send's first human open or click becomes an event
 * (`Email Opened`, `Email Clicked`, `SMS Clicked`) for the customer's journeys, through ingestion like
 * any other event, so it is deduplicated and recovered like one. The customer gets the page even when
 * recording fails: a lost click is bad, a broken link is worse.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../store/db.js';
import { recordEngagement, type EngagementKind, type TrackedSendDoc } from '../store/engagement.js';
import type { Ingest } from '../events/ingestion.js';
import { parseMessage } from '../events/segment-schema.js';
import { linkSignature } from '../activities/engagement-links.js';
import { machineClick, machineOpen } from './machine-engagement.js';

/** The smallest transparent GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const TOKEN = /^[0-9a-f]{32}$/;

function signed(secret: string, token: string, link: number | 'open', signature: string): boolean {
  if (!TOKEN.test(token)) return false;
  const expected = Buffer.from(linkSignature(secret, token, link));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const EVENT_NAMES: Record<`${TrackedSendDoc['channel']}:${EngagementKind}`, string> = {
  'email:open': 'Email Opened',
  'email:click': 'Email Clicked',
  'sms:click': 'SMS Clicked',
  'sms:open': 'SMS Opened',
};

export function registerEngagementRoutes(app: FastifyInstance, options: { db: Database; ingest: Ingest; secret: string }): void {
  const { trackedSends, shortLinks, engagements } = options.db.collections;

  /** Records the hit and tells the journeys of a first human one; never stands between the customer and the page. */
  async function record(request: FastifyRequest, send: TrackedSendDoc, kind: EngagementKind, link?: number): Promise<void> {
    const at = new Date();
    const userAgent = request.headers['user-agent'];
    const machine =
      kind === 'open' ? machineOpen({ userAgent, ip: request.ip }) : machineClick({ method: request.method, userAgent, at: at.getTime(), sentAt: send.at.getTime() });
    try {
      const first = await recordEngagement(engagements, send, { kind, link, at, machine });
      if (!first) return;
      const parsed = parseMessage({
        type: 'track',
        userId: send.userId,
        event: EVENT_NAMES[`${send.channel}:${kind}`],
        // One per send and kind: ingestion drops a second copy, and the recovery schedule finishes a half-done one.
        messageId: `engagement-${send._id}-${kind}`,
        timestamp: at.toISOString(),
        properties: {
          journey_id: send.journeyId,
          step_id: send.stepId,
          template: send.template,
          channel: send.channel,
          ...(link !== undefined ? { link: send.links[link] } : {}),
        },
      });
      if (parsed.ok) await options.ingest('engagement', [parsed.message], { receivedAt: at });
    } catch (err) {
      request.log.warn({ err, kind }, 'engagement not recorded');
    }
  }

  async function click(request: FastifyRequest, reply: FastifyReply, token: string, link: number) {
    const send = await trackedSends.findOne({ _id: token });
    const url = send?.links[link];
    if (!send || url === undefined) return reply.code(404).send({ error: 'unknown link' });
    await record(request, send, 'click', link);
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(url, 302);
  }

  app.route<{ Params: { token: string; link: string; signature: string } }>({
    method: ['GET', 'HEAD'],
    url: '/t/c/:token/:link/:signature',
    handler: async (request, reply) => {
      const { token, signature } = request.params;
      const link = Number(request.params.link);
      if (!Number.isInteger(link) || link < 0 || !signed(options.secret, token, link, signature)) return reply.code(404).send({ error: 'unknown link' });
      return click(request, reply, token, link);
    },
  });

  app.route<{ Params: { code: string } }>({
    method: ['GET', 'HEAD'],
    url: '/s/:code',
    handler: async (request, reply) => {
      const short = /^[\w-]{10}$/.test(request.params.code) ? await shortLinks.findOne({ _id: request.params.code }) : null;
      if (!short) return reply.code(404).send({ error: 'unknown link' });
      return click(request, reply, short.token, short.link);
    },
  });

  app.get<{ Params: { token: string; signature: string } }>('/t/o/:token/:signature', async (request, reply) => {
    const { token } = request.params;
    const signature = request.params.signature.replace(/\.gif$/, '');
    const send = signed(options.secret, token, 'open', signature) ? await trackedSends.findOne({ _id: token }) : null;
    if (send) await record(request, send, 'open');
    // A pixel either way: a mail client showing a broken image helps no one.
    return reply.header('content-type', 'image/gif').header('cache-control', 'no-store, max-age=0').send(PIXEL);
  });
}
