/**
 * The console, served by the ingestion server under /console: journeys with their counts, a journey's
 * graph, funnel, experiments and attribution (the report API's figures), segments (segment-pages.ts),
 * customers with their timeline, the reason for every decision, segment memberships, consent and suppressions, the ledger and its
 * unknown-outcome queue, templates rendered for a customer; operators change suppressions and
 * consent, settle unknown outcomes and send tests from the page. Every change is CSRF-checked and written to the audit log with who made
 * it. Journeys stay code: nothing here edits them.
 */
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import type { Config } from '../config.js';
import { attributionReport } from '../reports/attribution-report.js';
import { experimentReport } from '../reports/experiment-report.js';
import { journeyAsMermaid } from '../reports/journey-graph.js';
import { journeyReport } from '../reports/journey-report.js';
import { Day, JourneyReportQuery } from '../reports/report-queries.js';
import { enteredOn, userTimeline } from '../reports/timeline.js';
import { customerSegments } from '../reports/segment-report.js';
import { browserSnippets } from '../events/browser-sources.js';
import { settleUnknown } from '../operations/unknown-outcomes.js';
import { renderForCustomer, sendTestMessage } from '../operations/template-previews.js';
import { countSegments } from '../activities/sms-segments.js';
import { loadTemplates, type RenderedMessage, type TemplateRenderer } from '../activities/templates.js';
import { TEMPLATES } from '../activities/template-catalog.js';
import { ledgerForUser, unresolvedUnknowns, type LedgerDoc } from '../store/ledger.js';
import { answers, newestEntries } from '../store/ledger-hours.js';
import { audit, auditOf } from '../store/audit-log.js';
import { consentHistory, recordConsent } from '../store/consent.js';
import type { Database } from '../store/db.js';
import { loadProfile } from '../store/profiles.js';
import { addSuppression, isActive, liftSuppressions, suppressionHistory } from '../store/suppressions.js';
import { journeyVersion, journeyVersions, latestJourneys } from '../workflows/journeys/index.js';
import { JOURNEY, JOURNEY_VERSION, STEP } from '../workflows/sdk/search-attributes.js';
import { allSteps } from '../workflows/sdk/steps.js';
import { customersMatching } from './customer-search.js';
import { maskIdentifier, maskText, maskTraits } from './masking.js';
import { verifyPassword } from './passwords.js';
import { endSession, sessionUser, startSession, type ConsoleUser } from './session.js';
import { registerSegmentPages } from './segment-pages.js';
import { registerBroadcastPages } from './broadcast-pages.js';
import { renderPage } from './views.js';

/** A form or query the console cannot take: a 400 page naming what is wrong. */
class FormError extends Error {
  readonly statusCode = 400;
}

function parseBody<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new FormError(result.error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; '));
  return result.data;
}

export interface ConsoleOptions {
  config: Config;
  db: Database;
  temporal: Client;
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleUser?: ConsoleUser;
  }
}

const SEGMENT_CHANGES_SHOWN = 100;

const mermaidPath = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');

const SuppressionForm = z.object({ channel: z.enum(['*', 'email', 'sms', 'audience']), reason: z.enum(['manual', 'complaint', 'erasure', 'unsubscribe']), evidence: z.string().max(2000).optional() });
const LiftForm = z.object({ channel: z.enum(['*', 'email', 'sms', 'audience', 'webhook']), category: z.string().max(64).optional() });
const MessageQuery = z.object({
  user: z.string().max(255).optional(),
  journey: z.string().max(255).optional(),
  step: z.string().max(255).optional(),
  channel: z.enum(['email', 'sms', 'audience', 'webhook']).optional(),
  outcome: z.string().max(64).optional(),
  from: Day,
  to: Day,
});
const ResolveForm = z.object({ key: z.string().min(1).max(1000), as: z.enum(['sent', 'resend']) });
const EventJson = z
  .string()
  .max(32_000)
  .refine((text) => {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    } catch {
      return false;
    }
  }, 'a JSON object, e.g. {"cart_url":"https://shop.example/cart"}')
  .optional();
const PreviewForm = z.object({ template: z.string().min(1).max(255), user: z.string().min(1).max(255), event: EventJson });
const TestSendForm = PreviewForm.extend({ to: z.string().min(3).max(320), _csrf: z.string().optional() });
const ConsentForm = z.object({ channel: z.enum(['email', 'sms', 'advertising']), granted: z.enum(['true', 'false']).transform((v) => v === 'true'), evidence: z.string().max(2000).optional() });

export async function registerConsole(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const { config, db, temporal } = options;
  const secure = config.PUBLIC_BASE_URL.startsWith('https:');
  await app.register(cookie, { secret: config.CONSOLE_SECRET! });
  await app.register(formbody);
  await app.register(csrf, { cookieOpts: { path: '/console', httpOnly: true, sameSite: 'strict', secure, signed: true } });

  const page = async (reply: FastifyReply, request: FastifyRequest, view: string, data: Record<string, unknown>, status = 200) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-frame-options', 'DENY')
      .send(await renderPage(view, { ...data, user: request.consoleUser, csrf: reply.generateCsrf() }));

  const viewer = (request: FastifyRequest) => request.consoleUser?.role !== 'operator';
  /** What a viewer may see of personal data (masking.ts); operators see it whole. */
  const shownId = (request: FastifyRequest, id: string) => (viewer(request) ? maskIdentifier(id) : id);
  const shownText = <T extends string | undefined>(request: FastifyRequest, text: T): T => (viewer(request) && text ? (maskText(text) as T) : text);

  app.addHook('onRequest', async (request, reply) => {
    request.consoleUser = sessionUser(request, config.CONSOLE_USERS);
    if (!request.consoleUser && !request.url.startsWith('/console/login') && !request.url.startsWith('/console/assets/')) return reply.redirect('/console/login', 303);
  });
  // Every change, sign-in included, carries the form's CSRF token (a forged or missing one is a 403).
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST') return;
    await new Promise<void>((resolve, reject) => app.csrfProtection(request, reply, (err?: Error) => (err ? reject(err) : resolve())));
  });
  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.code?.startsWith('FST_CSRF') ? 403 : err.statusCode && err.statusCode < 500 ? err.statusCode : 503;
    if (status >= 500) request.log.error({ err }, 'console page failed');
    return page(reply, request, 'login', { title: 'Error', error: status === 403 ? 'This form has expired or was not sent from the console: reload the page and try again.' : err.message }, status);
  });

  app.get('/console/assets/mermaid.min.js', async (_request, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(createReadStream(mermaidPath)),
  );

  app.get('/console/login', async (request, reply) => page(reply, request, 'login', { title: 'Sign in' }));
  app.post<{ Body: { name?: string; password?: string } }>('/console/login', async (request, reply) => {
    const user = config.CONSOLE_USERS.find((u) => u.name === request.body?.name);
    // The same answer and (scrypt) work for an unknown name as for a wrong password.
    const valid = await verifyPassword(String(request.body?.password ?? ''), user?.password ?? 'scrypt$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    if (!user || !valid) return page(reply, request, 'login', { title: 'Sign in', error: 'Wrong name or password.' }, 401);
    startSession(reply, user, config.CONSOLE_SESSION_TTL, secure);
    return reply.redirect('/console', 303);
  });
  app.post('/console/logout', async (_request, reply) => {
    endSession(reply, secure);
    return reply.redirect('/console/login', 303);
  });

  const running = async (journeyId: string, version: number, stepId?: string) =>
    (
      await temporal.workflow.count(
        [`${JOURNEY.name} = '${journeyId}'`, `${JOURNEY_VERSION.name} = ${version}`, `ExecutionStatus = 'Running'`, `TaskQueue = '${config.TEMPORAL_TASK_QUEUE}'`, stepId && `${STEP.name} = '${stepId}'`]
          .filter(Boolean)
          .join(' AND '),
      )
    ).count;

  app.get<{ Querystring: Record<string, string> }>('/console', async (request, reply) => {
    const { from, to } = parseBody(JourneyReportQuery, { from: request.query.from || undefined, to: request.query.to || undefined });
    const latest = new Set(latestJourneys());
    const journeys = await Promise.all(
      journeyVersions.map(async (j) => {
        const [inFlight, report] = await Promise.all([running(j.id, j.version), journeyReport(db, j.id, { version: j.version, from, to })]);
        return { id: j.id, version: j.version, description: j.description, latest: latest.has(j), inFlight, entered: report.entered, converted: report.goals.reduce((n, g) => n + g.converters, 0) };
      }),
    );
    return page(reply, request, 'journeys', { title: 'Journeys', journeys, period: { from, to } });
  });

  app.get('/console/sources', async (request, reply) =>
    page(reply, request, 'sources', {
      title: 'Sources',
      browser: config.BROWSER_SOURCES.map((source) => ({ ...source, snippets: browserSnippets(source, config.PUBLIC_BASE_URL) })),
      // A server key is a secret: its first characters name it.
      serverKeys: config.WRITE_KEYS.map((key) => `${key.slice(0, 6)}…`),
      host: new URL(config.PUBLIC_BASE_URL).origin,
      limits: { key: config.BROWSER_KEY_RATE_LIMIT, ip: config.BROWSER_IP_RATE_LIMIT },
    }),
  );

  app.get<{ Params: { journeyId: string }; Querystring: Record<string, string> }>('/console/journeys/:journeyId', async (request, reply) => {
    const { journeyId } = request.params;
    const versions = journeyVersions.filter((j) => j.id === journeyId).map((j) => j.version);
    if (versions.length === 0) return page(reply, request, 'login', { title: 'Not found', error: `No journey "${journeyId}" in this build.` }, 404);
    const query = parseBody(JourneyReportQuery, { version: request.query.version || undefined, from: request.query.from || undefined, to: request.query.to || undefined });
    const version = query.version ?? Math.max(...versions);
    const journey = journeyVersion(journeyId, version);
    if (!journey) return page(reply, request, 'login', { title: 'Not found', error: `${journeyId} has no version ${version}.` }, 404);
    const counts = new Map(await Promise.all([...allSteps(journey.steps)].map(async (s) => [s.id, await running(journeyId, version, s.id)] as const)));
    const [report, experiment, attribution] = await Promise.all([
      journeyReport(db, journeyId, { ...query, version }),
      experimentReport(db, journeyId, { ...query, version }),
      attributionReport(db, { model: 'linear', journeyId, from: query.from, to: query.to }),
    ]);
    return page(reply, request, 'journey', {
      title: `${journeyId} v${version}`,
      journey,
      versions,
      exits: journey.exitOn.map((e) => `"${e}"`).join(', ') || 'nothing',
      mermaid: journeyAsMermaid(journey, counts),
      report,
      exited: Object.entries(report.exited),
      experiment,
      attribution,
    });
  });

  app.get<{ Querystring: { q?: string } }>('/console/customers', async (request, reply) => {
    const q = (request.query.q ?? '').trim().slice(0, 255);
    const matches = (await customersMatching(db, q)).map((id) => ({ href: encodeURIComponent(id), label: shownId(request, id) }));
    return page(reply, request, 'customers', { title: 'Customers', q: shownId(request, q), matches });
  });

  app.get<{ Params: { userId: string } }>('/console/customers/:userId', async (request, reply) => {
    const { userId } = request.params;
    const [profile, runs, suppressions, consent, identities, engagement, changes, segments] = await Promise.all([
      loadProfile(db.collections.profiles, userId),
      userTimeline(temporal, db, userId),
      suppressionHistory(db.collections.suppressions, userId),
      consentHistory(db.collections.consentEvents, userId),
      db.collections.identities.find({ userId }).toArray(),
      db.collections.engagements.find({ userId }).sort({ at: -1 }).limit(100).toArray(),
      auditOf(db.collections.auditLog, userId),
      customerSegments(db, userId),
    ]);
    const now = new Date();
    return page(reply, request, 'customer', {
      title: shownId(request, userId),
      label: shownId(request, userId),
      href: encodeURIComponent(userId),
      canChange: !viewer(request),
      traits: Object.entries(viewer(request) ? maskTraits(profile?.traits ?? {}) : (profile?.traits ?? {})).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
      identities: identities.map((i) => shownId(request, i._id)),
      runs: runs.map((run) => ({
        ...run,
        end: run.closedAt ? (run.exitEvent ? `left on "${run.exitEvent}"` : run.status.toLowerCase()) : `now in ${run.currentStep ?? '(starting)'}`,
        entry: run.entry && enteredOn(run.entry),
        // What the page shows of each step's message, and nothing more of the ledger entry.
        steps: run.steps.map(({ ledger, ...step }) => ({
          ...step,
          ledger: ledger && { channel: ledger.channel, subject: shownText(request, ledger.subject), detail: shownText(request, ledger.detail) },
        })),
      })),
      engagement,
      segments: {
        memberOf: segments.memberOf.map((m) => ({ ...m, id: m.segment.split('@')[0], version: m.segment.split('@')[1] })),
        // The newest first, and the last hundred: the CLI's explain prints them all.
        changes: segments.changes
          .slice(-SEGMENT_CHANGES_SHOWN)
          .reverse()
          .map((c) => ({ ...c, journeys: [...Object.entries(c.journeys ?? {}).map(([journey, outcome]) => `${journey}: ${outcome}`), ...(c.dispatch ? ['not handed to its journeys yet'] : [])] })),
      },
      suppressions: suppressions.map((s) => ({ ...s, scope: s.category ? `${s.channel}/${s.category}` : s.channel, active: isActive(s, now), evidence: undefined })),
      consent: consent.map((c) => ({ ...c, scope: c.category ? `${c.channel}/${c.category}` : c.channel, source: shownText(request, c.source) })),
      audit: changes.map((a) => ({ ...a, details: shownText(request, JSON.stringify(a.details)) })),
    });
  });

  registerSegmentPages(app, { db, page, shownId });
  registerBroadcastPages(app, { config, temporal, db, page, isOperator: (request) => !viewer(request) });

  const MESSAGE_LIMIT = 200;
  app.get<{ Querystring: Record<string, string | undefined> }>('/console/messages', async (request, reply) => {
    const query = parseBody(MessageQuery, Object.fromEntries(Object.entries(request.query).filter(([, v]) => v)));
    // An outcome matches its kind too: "suppressed" finds suppressed:unsubscribe and the rest.
    const matches = (m: LedgerDoc) => !query.outcome || m.reason.startsWith(query.outcome);
    const equal = { ...(query.journey ? { journeyId: query.journey } : {}), ...(query.step ? { stepId: query.step } : {}), ...(query.channel ? { channel: query.channel } : {}) };
    const search = { equal, matches, from: query.from, to: query.to };
    // One customer's messages are few: all of them, narrowed here.
    const ofCustomer = async (userId: string) => (await ledgerForUser(db.collections.ledger, userId)).filter(answers(search)).reverse().slice(0, MESSAGE_LIMIT);
    const [messages, unknown] = await Promise.all([
      query.user ? ofCustomer(query.user) : newestEntries(db.collections, search, MESSAGE_LIMIT),
      unresolvedUnknowns(db.collections.ledger),
    ]);
    const row = (m: LedgerDoc) => ({ ...m, href: encodeURIComponent(m.userId), userLabel: shownId(request, m.userId), detail: shownText(request, m.detail), request: undefined });
    return page(reply, request, 'messages', {
      title: 'Messages',
      query: { ...query, user: query.user && shownId(request, query.user) },
      channels: ['email', 'sms', 'audience', 'webhook'],
      messages: messages.map(row),
      limit: MESSAGE_LIMIT,
      unknown: unknown.map(row),
      canChange: !viewer(request),
    });
  });

  app.post<{ Body: { key?: string; as?: string } }>('/console/messages/resolve', async (request, reply) => {
    const user = request.consoleUser!;
    if (user.role !== 'operator') return page(reply, request, 'login', { title: 'Not allowed', error: 'Viewers cannot settle messages.' }, 403);
    const { key, as } = parseBody(ResolveForm, request.body);
    const entry = await db.collections.ledger.findOne({ _id: key });
    try {
      await settleUnknown({ db, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE }, key, as, `console:${user.name}`);
    } catch (err) {
      throw new FormError((err as Error).message);
    }
    await audit(db.collections.auditLog, { by: user.name, action: as === 'sent' ? 'unknown outcome settled as sent' : 'unknown outcome sent again', userId: entry?.userId ?? '', details: { key } });
    return reply.redirect('/console/messages', 303);
  });

  let templates: Promise<TemplateRenderer> | undefined;
  const previewOf = async (request: FastifyRequest, form: { template: string; user: string; event?: string }) => {
    const event = form.event ? (JSON.parse(form.event) as Record<string, unknown>) : {};
    const preview = await renderForCustomer({ config: config, db, templates: await (templates ??= loadTemplates()) }, form.template, form.user, event);
    const { rendered } = preview;
    if (!viewer(request)) return { preview, shownAs: rendered };
    const shownAs: RenderedMessage =
      rendered.channel === 'email' ? { ...rendered, subject: maskText(rendered.subject), html: maskText(rendered.html), text: maskText(rendered.text) } : { ...rendered, body: maskText(rendered.body) };
    return { preview, shownAs };
  };
  app.get<{ Querystring: Record<string, string | undefined> }>('/console/templates', async (request, reply) => {
    const query = request.query.template && request.query.user ? parseBody(PreviewForm, request.query) : undefined;
    let preview: Record<string, unknown> | undefined;
    if (query) {
      const { preview: made, shownAs } = await previewOf(request, query);
      preview = { profileFound: made.profileFound, ...(shownAs.channel === 'email' ? { email: { ...shownAs, from: shownAs.from ?? config.EMAIL_FROM } } : { sms: { ...shownAs, ...countSegments(shownAs.body) } }) };
    }
    return page(reply, request, 'templates', { title: 'Templates', templates: Object.keys(TEMPLATES), query: { ...request.query, user: query ? shownId(request, query.user) : request.query.user }, preview, canChange: !viewer(request) });
  });
  app.post<{ Body: Record<string, string> }>('/console/templates/test-send', async (request, reply) => {
    const user = request.consoleUser!;
    if (user.role !== 'operator') return page(reply, request, 'login', { title: 'Not allowed', error: 'Viewers cannot send tests.' }, 403);
    const form = parseBody(TestSendForm, request.body);
    const { preview } = await previewOf(request, form);
    const sent = await sendTestMessage(config, preview, form.to, `console-test/${form.template}/${form.user}/${Date.now()}`);
    await audit(db.collections.auditLog, { by: user.name, action: 'test send', userId: form.user, details: { template: form.template, to: sent.to } });
    return page(reply, request, 'templates', { title: 'Templates', templates: Object.keys(TEMPLATES), query: form, sent, canChange: true });
  });

  /** Operators only; the change is audited, then the customer's page is shown again. */
  const change = <S extends z.ZodType>(path: string, action: string, schema: S, apply: (userId: string, form: z.output<S>, by: string) => Promise<unknown>) =>
    app.post<{ Params: { userId: string } }>(`/console/customers/:userId/${path}`, async (request, reply) => {
      const user = request.consoleUser!;
      if (user.role !== 'operator') return page(reply, request, 'login', { title: 'Not allowed', error: 'Viewers cannot change customers.' }, 403);
      const { userId } = request.params;
      const { _csrf, ...fields } = request.body as Record<string, string>;
      const form = parseBody(schema, Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== '')));
      const result = await apply(userId, form, `console:${user.name}`);
      await audit(db.collections.auditLog, { by: user.name, action, userId, details: { ...(form as object), ...(typeof result === 'number' ? { lifted: result } : {}) } });
      return reply.redirect(`/console/customers/${encodeURIComponent(userId)}`, 303);
    });

  change('suppressions', 'suppression added', SuppressionForm, (userId, form, source) => addSuppression(db.collections.suppressions, { userId, ...form, source }));
  change('suppressions/lift', 'suppression lifted', LiftForm, (userId, form, source) =>
    liftSuppressions(db.collections.suppressions, { userId, channel: form.channel, category: form.category, reasons: ['manual', 'complaint', 'erasure', 'unsubscribe', 'hard-bounce', 'sms-stop'] }, source),
  );
  change('consent', 'consent recorded', ConsentForm, (userId, form, source) =>
    recordConsent(db.collections, userId, [{ channel: form.channel, granted: form.granted }], { source, evidence: form.evidence }),
  );
}
