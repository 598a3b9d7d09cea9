/**
 * The Throughline worker: runs journey workflows and the delivery activities. Stateless: run as many
 * as you need against the same Temporal namespace, task queue and MongoDB.
 */
import { GracefulShutdownPeriodExpiredError, IllegalStateError, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import Fastify from 'fastify';
import getPort from 'get-port';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createActivities, type Activities } from './activities/index.js';
import { engineQueue, sendQueue } from './workflows/sdk/definitions.js';
import { logger } from './platform/logger.js';
import { installTemporalRuntime } from './platform/temporal-runtime.js';
import { dependencyChecks, quietRequestLogs, registerOpsRoutes, type ReadinessCheck } from './platform/ops-routes.js';
import { drainOnSignal } from './platform/shutdown.js';
import { tracing } from './platform/tracing.js';
import { loadConfig, type Config } from './config.js';
import { openDatabase, type Database } from './store/db.js';
import { listLedgerHours, migrateIntoPolicyRecords } from './store/migrations.js';
import { markUnfinishedClaims } from './store/inbound-events.js';
import { listenOrExit } from './platform/listen.js';
import { deploymentDataConverter } from './platform/temporal.js';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface RunningWorker {
  /** Resolves when the worker has stopped (after shutdown() or a fatal error). */
  done: Promise<void>;
  shutdown(): Promise<void>;
  /** What /readyz asks: Temporal and the database. */
  checks: Record<string, ReadinessCheck>;
}

const FORCE_AFTER_GRACE_MS = 20_000;

const SEND_CHANNELS = ['email', 'sms', 'audience', 'webhook'] as const;

type QueueOptions = Pick<WorkerOptions, 'taskQueue' | 'activities' | 'maxTaskQueueActivitiesPerSecond'>;

/**
 * Every worker a deployment runs, by task queue: the journeys' and the engine's (see engineQueue),
 * which run workflows (`workflows: true`) and every activity; and one per channel's send queue (see
 * sendQueue), with that channel's send-rate limit. Temporal enforces the limit for the task queue as
 * a whole, so it holds however many worker processes run.
 */
export function deploymentWorkerOptions(
  taskQueue: string,
  activities: Activities,
  rateLimits: Partial<Record<string, number>>,
): Array<QueueOptions & { workflows: boolean }> {
  return [
    { taskQueue, activities, workflows: true },
    { taskQueue: engineQueue(taskQueue), activities, workflows: true },
    ...SEND_CHANNELS.map((channel) => ({
      taskQueue: sendQueue(taskQueue, channel),
      activities: { deliver: activities.deliver, deliverBatch: activities.deliverBatch },
      ...(rateLimits[channel] ? { maxTaskQueueActivitiesPerSecond: rateLimits[channel] } : {}),
      workflows: false,
    })),
  ];
}

/**
 * Starts a worker. `workflowBundle` (a prebuilt bundle's path) skips bundling the workflow code at
 * start-up, as tests and production deployments do.
 */
export async function startWorker(
  config: Config,
  options: { db?: Database; workflowBundlePath?: string } = {},
): Promise<RunningWorker> {
  installTemporalRuntime();
  const db = options.db ?? (await openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE));
  // Suppressions written by an earlier version must hold before the first decision.
  await migrateIntoPolicyRecords(db);
  // Events an earlier build left unfinished, marked for the recovery schedule (once per deployment).
  await markUnfinishedClaims(db.collections.inboundEvents, db.collections.migrations, new Date(Date.now() - config.INBOUND_RECOVERY_WINDOW));
  await listLedgerHours(db);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const { activities, close } = await createActivities(config, db);
  const workflowSource: Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath };
  // On shutdown, sends in progress get this long to finish; what is cut is retried by Temporal.
  const shutdownGraceTime = config.SHUTDOWN_GRACE;
  // A task that ignores its cancellation must not hold the stop for ever (a process on its own is
  // cut by drainOnSignal first; this bounds a worker run inside another process, as the stack's).
  const shutdownForceTime = shutdownGraceTime + FORCE_AFTER_GRACE_MS;
  // Traced: the workflow interceptors go into the bundle, so a prebuilt one must have been built with them.
  const traced = tracing();
  const plugins = traced ? { plugins: [traced.plugin] } : {};
  const dataConverter = deploymentDataConverter(config, db);
  const sealed = dataConverter ? { dataConverter } : {};
  const cache = config.WORKFLOW_CACHE_SIZE === 'auto' ? {} : { maxCachedWorkflows: config.WORKFLOW_CACHE_SIZE };
  const all = await Promise.all(
    deploymentWorkerOptions(config.TEMPORAL_TASK_QUEUE, activities, config.SEND_RATE_LIMITS).map(({ workflows, ...queue }) =>
      Worker.create({ connection, namespace: config.TEMPORAL_NAMESPACE, shutdownGraceTime, shutdownForceTime, ...plugins, ...sealed, ...queue, ...(workflows ? { ...workflowSource, ...cache } : {}) }),
    ),
  );
  const done = Promise.all(all.map((w) => w.run())).then(() => undefined).finally(async () => {
    close();
    await connection.close();
    if (!options.db) await db.close();
  });
  return {
    done,
    async shutdown() {
      for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
      // Past the grace, what still holds the stop is named, so an overrun can be traced to its cause.
      const overrun = setTimeout(() => logger.warn({ graceMs: shutdownGraceTime, holding: stillRunning(all) }, 'worker shutdown overran its grace'), shutdownGraceTime + 500);
      overrun.unref();
      try {
        await done;
      } catch (err) {
        // Forced, the SDK says so, or (in its finalising) that the worker still holds the task it cut.
        if (!(err instanceof GracefulShutdownPeriodExpiredError || err instanceof IllegalStateError)) throw err;
        logger.error({ forcedAfterMs: shutdownForceTime }, 'worker shutdown forced: what it held is retried by Temporal, as after a crash');
      } finally {
        clearTimeout(overrun);
      }
    },
    checks: dependencyChecks(connection, db),
  };
}

/** Each worker not yet stopped: its queue, state, pollers and the tasks it holds. */
function stillRunning(workers: Worker[]) {
  return workers
    .filter((w) => w.getState() !== 'STOPPED')
    .map((w) => ({ taskQueue: w.options.taskQueue, ...w.getStatus() }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const config = loadConfig();
  if (!config.PAYLOAD_KEYS) logger.warn("PAYLOAD_KEYS is unset: Temporal's histories, UI and CLI show customers' data in plain text");
  // The SDK serves its own metrics on a loopback port; /metrics below serves them with ours.
  const sdkMetricsPort = await getPort({ host: '127.0.0.1' });
  installTemporalRuntime({ metricsAddress: `127.0.0.1:${sdkMetricsPort}` });
  let running: RunningWorker | undefined;
  let draining = false;
  const ops = Fastify({ loggerInstance: logger.child({ component: 'worker-http' }), ...quietRequestLogs() });
  await ops.register(async (scope) =>
    registerOpsRoutes(scope, {
      checks: () => running?.checks ?? { worker: async () => Promise.reject(new Error('starting')) },
      draining: () => draining,
      moreMetrics: async () => (await fetch(`http://127.0.0.1:${sdkMetricsPort}/metrics`)).text(),
    }),
  );
  // Bound before the worker polls: a taken port must stop this process before it holds any task,
  // or the tasks it took wait out their timeouts while the customers' sends stand still.
  const address = await listenOrExit(ops, { host: config.HTTP_HOST, port: config.WORKER_HTTP_PORT, variable: 'WORKER_HTTP_PORT' });
  const started = await startWorker(config, { workflowBundlePath: config.WORKFLOW_BUNDLE });
  running = started;
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, temporal: config.TEMPORAL_ADDRESS, ops: address }, 'worker running');
  drainOnSignal(async () => {
    draining = true;
    await started.shutdown();
    await ops.close();
  }, config.SHUTDOWN_GRACE);
  await started.done;
}
