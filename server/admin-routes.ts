/**
 * The admin API (bearer token): suppressions, consent and erasures recorded by operators and
 * back-office tools, and the reports (read from the rollups) for dashboards.
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { eraseCustomer } from '../operations/erasure.js';
import type { Database } from '../store/db.js';
import { recordConsent } from '../store/consent.js';
import { addSuppression, liftSuppressions } from '../store/suppressions.js';
import type { SegmentEngine } from '../segments/engine.js';
import { ConsentSchema, LiftSchema, SuppressionSchema } from '../store/suppression-schema.js';
import { parseBody } from './http-errors.js';
import { hasBearer } from './secrets.js';
import { jsonBodies } from './request-bodies.js';
import { registerReportRoutes } from './report-routes.js';

const ErasureSchema = z.object({ userId: z.string().min(1).max(512), source: z.string().max(200).optional() });

export function registerAdminRoutes(app: FastifyInstance, options: { db: Database; temporal: Client; adminToken?: string; globalControlPercent: number; segments?: SegmentEngine }): void {
  const { collections } = options.db;
  jsonBodies(app);
  app.addHook('preHandler', async (request, reply) => {
    if (!options.adminToken || !hasBearer(request, options.adminToken)) {
      return reply.code(401).send({ error: 'admin token required' });
    }
  });
  app.post('/admin/suppressions', async (request, reply) => {
    const entry = parseBody(SuppressionSchema, request.body);
    await addSuppression(collections.suppressions, { ...entry, source: entry.source ?? 'admin-api' });
    await options.segments?.suppressionChanged(entry.userId, 'admin suppression');
    return reply.code(201).send({ success: true });
  });
  app.post('/admin/consent', async (request, reply) => {
    const { userId, channel, category, granted, source, evidence } = parseBody(ConsentSchema, request.body);
    await recordConsent(collections, userId, [{ channel, granted, ...(category ? { category } : {}) }], { source: source ?? 'admin-api', evidence });
    await options.segments?.traitsChanged(userId, ['consent'], 'admin consent');
    return reply.code(201).send({ success: true });
  });
  app.post('/admin/suppressions/lift', async (request) => {
    const { source, ...filter } = parseBody(LiftSchema, request.body);
    const lifted = await liftSuppressions(collections.suppressions, filter, source ?? 'admin-api');
    if (lifted) await options.segments?.suppressionChanged(filter.userId, 'admin lift');
    return { success: true, lifted };
  });
  // A data-subject request from a back-office tool; running it again finishes one cut short.
  app.post('/admin/customers/erase', async (request) => {
    const { userId, source } = parseBody(ErasureSchema, request.body);
    return { success: true, ...(await eraseCustomer({ db: options.db, temporal: options.temporal }, userId, source ?? 'admin-api')) };
  });
  registerReportRoutes(app, options.db, options);
}
