/**
 * What operators and orchestrators ask every process, the ingestion server and each worker alike:
 * GET /healthz (the process is up), GET /readyz (its dependencies answer within a second; 503 naming
 * the one that does not, or while the process drains for shutdown) and GET /metrics (Prometheus).
 */
import { LogController, type FastifyInstance } from 'fastify';
import { within } from './deadline.js';
import { registry } from './metrics.js';

/** A named dependency check: resolves when the dependency answers. */
export type ReadinessCheck = () => Promise<unknown>;

export interface OpsOptions {
  /** The checks as of now: a worker has none to run until it has connected. */
  checks: () => Record<string, ReadinessCheck>;
  draining: () => boolean;
  /** More Prometheus text to serve with this process's own (the Temporal SDK's runtime metrics). */
  moreMetrics?: () => Promise<string>;
}

/** What every process depends on: Temporal (through its client or the worker's connection) and the database. */
export const dependencyChecks = (
  temporal: { workflowService: { getSystemInfo(request: object): Promise<unknown> } },
  db: { db: { command(command: { ping: 1 }): Promise<unknown> } },
): Record<string, ReadinessCheck> => ({
  temporal: () => temporal.workflowService.getSystemInfo({}),
  database: () => db.db.command({ ping: 1 }),
});

const READY_WITHIN_MS = 1_000;

/** Fastify options for a process's HTTP: requests are counted in /metrics; the log keeps what went wrong. */
export const quietRequestLogs = () => ({ logController: new LogController({ disableRequestLogging: true }) });

export function registerOpsRoutes(app: FastifyInstance, options: OpsOptions): void {
  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async (_request, reply) => {
    if (options.draining()) return reply.code(503).send({ ready: false, draining: true });
    const entries = await Promise.all(
      Object.entries(options.checks()).map(async ([name, check]) => {
        try {
          await within(READY_WITHIN_MS, check);
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, (err as Error).message] as const;
        }
      }),
    );
    const ready = entries.every(([, state]) => state === 'ok');
    return reply.code(ready ? 200 : 503).send({ ready, checks: Object.fromEntries(entries) });
  });

  app.get('/metrics', async (_request, reply) => {
    const own = await registry.metrics();
    const more = options.moreMetrics ? await options.moreMetrics().catch(() => '') : '';
    return reply.type(registry.contentType).send(`${own}\n${more}`);
  });
}
