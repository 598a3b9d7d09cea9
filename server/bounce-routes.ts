/**
 * Asynchronous bounces. Every email goes out with a VERP return path (bounces+<token>@BOUNCE_DOMAIN);
 * the MX for that domain (or a mail provider's inbound-parse hook) posts each bounce message here,
 * raw. The token names the send; the DSN's Status says what happened: 5.x.x is a hard bounce (the
 * address is suppressed for email), 4.x.x a delay (recorded, nothing suppressed).
 */
import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import { tokenOfVerp } from '../activities/verp.js';
import type { Database } from '../store/db.js';
import { recordDeliveryReport } from '../store/delivery-reports.js';
import { findBySendToken, recordProviderStatus } from '../store/ledger.js';
import { addSuppression } from '../store/suppressions.js';
import type { SegmentEngine } from '../segments/engine.js';
import { hasBearer } from './secrets.js';
import { HttpError } from './http-errors.js';

const MAX_BOUNCE_BYTES = 1024 * 1024;

/** Where the bounce was delivered: the VERP address, from the headers an MX adds or the To. */
function verpRecipient(headers: Map<string, unknown>, to: string[]): string | undefined {
  const candidates = ['x-original-to', 'delivered-to', 'envelope-to'].map((h) => headers.get(h)).filter((v): v is string => typeof v === 'string');
  return [...candidates, ...to].find((address) => tokenOfVerp(address));
}

export function registerBounceRoutes(app: FastifyInstance, options: { db: Database; secret?: string; segments?: SegmentEngine }): void {
  const { ledger, suppressions, deliveryReports } = options.db.collections;
  for (const type of ['message/rfc822', 'text/plain']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: MAX_BOUNCE_BYTES }, (_request, body, done) => done(null, body));
  }

  app.post('/webhooks/bounce', async (request, reply) => {
    if (!options.secret) return reply.code(404).send({ error: 'the bounce webhook is not configured' });
    if (!hasBearer(request, options.secret)) return reply.code(401).send({ error: 'bounce secret required' });
    if (!Buffer.isBuffer(request.body)) return reply.code(415).send({ error: 'post the bounce message raw, as message/rfc822' });

    const raw = request.body.toString('utf8');
    const mail = await simpleParser(request.body).catch((err: Error) => {
      throw new HttpError(422, `the bounce message does not parse: ${err.message}`);
    });
    const to = [mail.to].flat().flatMap((a) => a?.value ?? []).map((a) => a.address ?? '');
    const recipient = verpRecipient(mail.headers, to);
    if (!recipient) return reply.code(422).send({ error: 'not addressed to a VERP return path (bounces+<token>@…)' });
    // RFC 3464: the machine-readable part carries Status and Final-Recipient.
    const status = /^Status:\s*([245]\.\d{1,3}\.\d{1,3})/im.exec(raw)?.[1];
    const finalRecipient = /^Final-Recipient:\s*rfc822;\s*(\S+)/im.exec(raw)?.[1];
    if (!status) return reply.code(422).send({ error: 'no DSN Status in the message' });

    const send = await findBySendToken(ledger, tokenOfVerp(recipient)!);
    if (!send) return { matched: false };
    const permanent = status.startsWith('5.');
    await recordProviderStatus(ledger, send.providerMessageId!, permanent ? 'bounced' : 'delayed', status);
    if (permanent) await recordDeliveryReport(deliveryReports, send, 'bounced');
    if (permanent) {
      await addSuppression(suppressions, {
        userId: send.userId,
        channel: 'email',
        reason: 'hard-bounce',
        source: `bounce:${status}`,
        evidence: `${finalRecipient ?? 'recipient'} bounced ${send.providerMessageId}`,
      });
      await options.segments?.suppressionChanged(send.userId, 'hard-bounce');
    }
    return { matched: true, userId: send.userId, status, permanent };
  });
}
