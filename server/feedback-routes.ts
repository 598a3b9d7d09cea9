/**
 * Feedback that updates suppression automatically: unsubscribe links (signed; RFC 8058 one-click
 * POST), and Twilio's inbound-message and status-callback webhooks (X-Twilio-Signature verified).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import escapeHtml from 'escape-html';
import twilio from 'twilio';
import { z } from 'zod';
import { verifyUnsubscribeToken } from '../activities/unsubscribe-token.js';
import type { Database } from '../store/db.js';
import { recordDeliveryReport } from '../store/delivery-reports.js';
import { recordProviderStatus } from '../store/ledger.js';
import { userIdsByPhone } from '../store/profiles.js';
import { addSuppression, liftSuppressions } from '../store/suppressions.js';
import type { SegmentEngine } from '../segments/engine.js';
import { scopeLabel } from '../reports/timeline.js';
import { parseBody } from './http-errors.js';

export interface FeedbackOptions {
  /** Segments that read suppressions, re-evaluated when one is added or lifted here. */
  segments?: SegmentEngine;
  db: Database;
  publicBaseUrl: string;
  unsubscribeSecret: string;
  twilioAuthToken: string;
}

const TwilioParams = z.record(z.string(), z.string({ error: 'Twilio posts every parameter once, as a string' }));
const UnsubscribeForm = z.object({ scope: z.enum(['all', 'category']).optional(), 'List-Unsubscribe': z.string().optional() });

/** Carrier-standard keywords (Twilio's defaults). */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT']);
const START_WORDS = new Set(['START', 'YES', 'UNSTOP']);

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

export function registerFeedbackRoutes(app: FastifyInstance, options: FeedbackOptions): void {
  const { suppressions, profiles, ledger, deliveryReports } = options.db.collections;

  // Twilio posts form-encoded bodies, and RFC 8058 one-click posts "List-Unsubscribe=One-Click".
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // `?token=a&token=b` reads as an array: no valid link has two tokens.
  const claimsOf = (request: FastifyRequest) => {
    const { token } = request.query as { token?: unknown };
    return typeof token === 'string' && token ? verifyUnsubscribeToken(options.unsubscribeSecret, token) : undefined;
  };

  // A GET never unsubscribes: mail scanners fetch links. It shows a button that POSTs.
  app.get('/unsubscribe', async (request, reply) => {
    const claims = claimsOf(request);
    reply.type('text/html');
    if (!claims) return reply.code(400).send(page('This unsubscribe link is not valid', ''));
    const button = (scope: string, label: string) => `<form method="post"><input type="hidden" name="scope" value="${scope}"><button>${escapeHtml(label)}</button></form>`;
    if (!claims.category) return page(`Unsubscribe from ${claims.channel}?`, button('all', 'Unsubscribe'));
    return page(
      `Unsubscribe from ${claims.category} ${claims.channel}?`,
      button('category', `Unsubscribe from ${claims.category}`) + button('all', `Unsubscribe from all marketing ${claims.channel}`),
    );
  });

  app.post('/unsubscribe', async (request, reply) => {
    const claims = claimsOf(request);
    if (!claims) return reply.code(403).type('text/html').send(page('This unsubscribe link is not valid', ''));
    const form = parseBody(UnsubscribeForm, request.body ?? {});
    const oneClick = form['List-Unsubscribe'] === 'One-Click';
    // One click (RFC 8058) leaves the list the message came from: its category. The page offers both.
    const category = form.scope === 'all' ? undefined : claims.category;
    await addSuppression(suppressions, {
      userId: claims.userId,
      channel: claims.channel,
      ...(category ? { category } : {}),
      reason: 'unsubscribe',
      source: oneClick ? 'list-unsubscribe-one-click' : 'unsubscribe-link',
      evidence: `signed token for ${claims.userId}/${scopeLabel(claims.channel, claims.category)}`,
    });
    await options.segments?.suppressionChanged(claims.userId, 'unsubscribe');
    const what = category ? `${category} emails` : 'these emails';
    return reply.type('text/html').send(page('You are unsubscribed', `<p>You will not get ${escapeHtml(what)} any more.</p>`));
  });

  /** Twilio signs the full public URL and the posted parameters with the account's auth token. */
  const verifiedTwilioParams = (request: FastifyRequest, reply: FastifyReply): Record<string, string> | undefined => {
    // Twilio posts a form, whose values are strings; anything else (a JSON body, a repeated field) is not Twilio.
    const params = parseBody(TwilioParams, request.body ?? {});
    const signature = request.headers['x-twilio-signature'];
    const url = new URL(request.url, options.publicBaseUrl).href;
    if (typeof signature === 'string' && twilio.validateRequest(options.twilioAuthToken, signature, url, params)) return params;
    void reply.code(403).send({ error: 'invalid X-Twilio-Signature' });
    return undefined;
  };

  app.post('/webhooks/twilio/inbound', async (request, reply) => {
    const params = verifiedTwilioParams(request, reply);
    if (!params) return reply;
    const keyword = (params.Body ?? '').trim().toUpperCase();
    const users = params.From ? await userIdsByPhone(profiles, params.From) : [];
    for (const userId of users) {
      if (STOP_WORDS.has(keyword)) {
        await addSuppression(suppressions, { userId, channel: 'sms', reason: 'sms-stop', source: 'twilio-inbound', evidence: `"${params.Body}" from ${params.From}` });
      } else if (START_WORDS.has(keyword)) {
        await liftSuppressions(suppressions, { userId, channel: 'sms', reasons: ['sms-stop'] }, `twilio-inbound: "${params.Body}"`);
      }
      if (STOP_WORDS.has(keyword) || START_WORDS.has(keyword)) await options.segments?.suppressionChanged(userId, `sms ${keyword}`);
    }
    // Empty TwiML: Twilio sends its own standard STOP/START replies.
    return reply.type('text/xml').send('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
  });

  app.post('/webhooks/twilio/status', async (request, reply) => {
    const params = verifiedTwilioParams(request, reply);
    if (!params) return reply;
    const status = params.MessageStatus ?? 'unknown';
    const entry = params.MessageSid ? await recordProviderStatus(ledger, params.MessageSid, status, params.ErrorCode) : undefined;
    if (entry) await recordDeliveryReport(deliveryReports, entry, status);
    if (entry && params.ErrorCode === '21610') {
      await addSuppression(suppressions, { userId: entry.userId, channel: 'sms', reason: 'sms-stop', source: 'twilio-status', evidence: `error 21610 on ${params.MessageSid}` });
      await options.segments?.suppressionChanged(entry.userId, 'sms-stop');
    }
    return reply.code(204).send();
  });
}
