/**
 * The console's broadcast pages: the build's broadcasts with their recent occurrences, and one
 * occurrence's status (counts by outcome, rate, ETA, each group's progress) and results (sent,
 * opened, clicked, conversions credited). Operators start an occurrence and pause, resume or cancel it here, with the same
 * effect as the CLI; viewers only look.
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import { broadcasts } from '../broadcasts/definitions/index.js';
import { occurrenceOf, signalBroadcast, startBroadcast, statusOf } from '../broadcasts/control.js';
import { entersJourney } from '../broadcasts/sdk/broadcast.js';
import { BROADCAST_WORKFLOW_TYPE, broadcastJourneyId, broadcastWorkflowId } from '../broadcasts/sdk/run.js';
import { attributionReport } from '../reports/attribution-report.js';
import { engagementReport } from '../reports/engagement-report.js';
import type { Database } from '../store/db.js';
import { parseBody } from '../server/http-errors.js';

export interface BroadcastPagesOptions {
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'DEFAULT_TIME_ZONE'>;
  temporal: Client;
  db: Database;
  page: (reply: FastifyReply, request: FastifyRequest, view: string, data: Record<string, unknown>, status?: number) => Promise<FastifyReply>;
  isOperator: (request: FastifyRequest) => boolean;
}

const OCCURRENCES_SHOWN = 20;
const Occurrence = z.string().regex(/^[\w.:-]{1,64}$/, 'an occurrence is letters, digits, dots, dashes or colons');
const StartForm = z.object({ occurrence: Occurrence.optional().or(z.literal('').transform(() => undefined)), _csrf: z.string().optional() });
const ControlForm = z.object({ command: z.enum(['pause', 'resume', 'cancel']), _csrf: z.string().optional() });

export function registerBroadcastPages(app: FastifyInstance, { config, temporal, db, page, isOperator }: BroadcastPagesOptions): void {
  const known = (id: string) => broadcasts.find((b) => b.id === id);
  const notFound = (reply: FastifyReply, request: FastifyRequest, id: string) => page(reply, request, 'login', { title: 'Not found', error: `No broadcast "${id}" in this build.` }, 404);
  const notAllowed = (reply: FastifyReply, request: FastifyRequest) => page(reply, request, 'login', { title: 'Not allowed', error: 'Viewers cannot start or change broadcasts.' }, 403);
  const occurrencePath = (id: string, occurrence: string) => `/console/broadcasts/${encodeURIComponent(id)}?occurrence=${encodeURIComponent(occurrence)}`;

  app.get('/console/broadcasts', async (request, reply) => {
    const recent = [];
    for await (const run of temporal.workflow.list({ query: `WorkflowType = '${BROADCAST_WORKFLOW_TYPE}'` })) {
      const [, id, occurrence] = run.workflowId.split('/');
      recent.push({ id, occurrence, status: run.status.name.toLowerCase(), startedAt: run.startTime, href: occurrencePath(id!, occurrence!) });
      if (recent.length >= OCCURRENCES_SHOWN) break;
    }
    return page(reply, request, 'broadcasts', { title: 'Broadcasts', broadcasts, recent });
  });

  app.get<{ Params: { id: string }; Querystring: { occurrence?: string } }>('/console/broadcasts/:id', async (request, reply) => {
    const definition = known(request.params.id);
    if (!definition) return notFound(reply, request, request.params.id);
    const occurrence = occurrenceOf(definition, request.query.occurrence ? parseBody(Occurrence, request.query.occurrence) : undefined);
    const status = await statusOf(temporal, broadcastWorkflowId(definition.id, occurrence));
    // A message broadcast's sends, opens and clicks, from the rollups as a journey step's (a broadcast
    // into a journey has its results on the journey's page).
    const journeyId = broadcastJourneyId(definition.id);
    const results = entersJourney(definition.send) ? undefined : (await engagementReport(db, { journeyId })).steps.find((s) => s.stepId === occurrence);
    // Its goals' conversions credited to this occurrence, shared with the other messages in each
    // window as on a journey's page (linear).
    const credit = definition.goals?.length
      ? ((await attributionReport(db, { model: 'linear', journeyId })).byStep.find((row) => row.key === `${journeyId}/${occurrence}`) ?? { conversions: 0, revenue: 0 })
      : undefined;
    return page(reply, request, 'broadcast', {
      results,
      credit,
      title: `${definition.id} ${occurrence}`,
      definition,
      occurrence,
      status,
      counts: Object.entries(status?.counts ?? {}).sort((a, b) => b[1] - a[1]),
      canChange: isOperator(request),
      live: status && !['done', 'cancelled'].includes(status.state),
    });
  });

  app.post<{ Params: { id: string } }>('/console/broadcasts/:id/start', async (request, reply) => {
    if (!isOperator(request)) return notAllowed(reply, request);
    const definition = known(request.params.id);
    if (!definition) return notFound(reply, request, request.params.id);
    const { occurrence } = parseBody(StartForm, request.body);
    const { workflowId } = await startBroadcast(temporal, config, definition, occurrence);
    request.log.info({ workflowId, by: request.consoleUser!.name }, 'broadcast started from the console');
    return reply.redirect(occurrencePath(definition.id, occurrenceOf(definition, occurrence)), 303);
  });

  app.post<{ Params: { id: string }; Querystring: { occurrence?: string } }>('/console/broadcasts/:id/control', async (request, reply) => {
    if (!isOperator(request)) return notAllowed(reply, request);
    const definition = known(request.params.id);
    if (!definition) return notFound(reply, request, request.params.id);
    const occurrence = parseBody(Occurrence, request.query.occurrence);
    const { command } = parseBody(ControlForm, request.body);
    await signalBroadcast(temporal, broadcastWorkflowId(definition.id, occurrence), command);
    request.log.info({ broadcast: definition.id, occurrence, command, by: request.consoleUser!.name }, 'broadcast changed from the console');
    return reply.redirect(occurrencePath(definition.id, occurrence), 303);
  });
}
