/**
 * Throughline wired together on a running stack with local stand-ins for the outside world: an SMTP
 * sink, a Twilio stand-in and an audience webhook receiver. The demo runs on it, and so do the tests,
 * so both exercise the same wiring a production deployment uses (only the provider URLs differ).
 */
import type { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../config.js';
import { ensureSchedules } from '../platform/maintenance-schedules.js';
import { buildServer } from '../server/server.js';
import getPort from 'get-port';
import { connectTemporal } from '../platform/temporal.js';
import { openDatabase, type Database } from '../store/db.js';
import type { JourneyDefinition } from '../workflows/sdk/journey.js';
import type { SegmentDefinition } from '../segments/sdk/segment.js';
import type { BroadcastDefinition } from '../broadcasts/sdk/broadcast.js';
import { startWorker, type RunningWorker } from '../worker.js';
import { startAudienceReceiver, type AudienceReceiver } from './audience-receiver.js';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from './smtp-sink.js';
import { startTwilioStandIn, type TwilioStandIn } from './twilio-standin.js';
import { newPayloadKey } from '../platform/payload-codec.js';
import { logger } from '../platform/logger.js';

export interface LocalSystemOptions {
  temporalAddress: string;
  mongoUrl: string;
  /** A database and task queue of its own keep concurrent systems (test files) apart. */
  database?: string;
  taskQueue?: string;
  journeySettings?: Record<string, Record<string, string | number>>;
  frequencyCap?: string;
  /** FREQUENCY_CAPS: further cap rules (JSON). */
  frequencyCaps?: string;
  /**
   * QUIET_HOURS (JSON). Off unless given: the local system sends whatever the time of day, so the demo
   * and the tests do not depend on when they run; quiet-hours tests set it explicitly.
   */
  quietHours?: string;
  workflowBundlePath?: string;
  smtp?: SmtpSinkOptions;
  /** The journey versions this deployment routes new entrants with (default: all in the build). */
  journeys?: readonly JourneyDefinition[];
  /** The segment versions the server computes from events (default: all in the build; a bench compares). */
  segments?: readonly SegmentDefinition[];
  /** The broadcasts whose goals the server records as conversions (default: all in the build; a test's own). */
  broadcasts?: readonly BroadcastDefinition[];
  /** Further configuration (environment variable names), over the defaults above. */
  env?: Record<string, string>;
  /** false: start no worker in this process (a test runs workers as child processes). */
  startWorker?: boolean;
  /** The database client emits command events (a bench counts the store commands of a send). */
  monitorCommands?: boolean;
}

export interface LocalSystem {
  config: Config;
  /** The same configuration as environment variables, for worker processes started separately. */
  env: Record<string, string>;
  db: Database;
  temporal: Client;
  smtp: SmtpSink;
  twilio: TwilioStandIn;
  audiences: AudienceReceiver;
  worker?: RunningWorker;
  httpUrl: string;
  writeKey: string;
  adminToken: string;
  /** POSTs JSON to the admin API with the admin token. */
  admin(path: string, body: unknown): Promise<Response>;
  /** `dropDatabase`: the system's database goes too, once its worker has stopped using it (a test's). */
  close(options?: { dropDatabase?: boolean }): Promise<void>;
}

export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  const smtp = await startSmtpSink(options.smtp);
  const twilio = await startTwilioStandIn();
  const audiences = await startAudienceReceiver(`whsec_${randomBytes(24).toString('base64')}`);
  const writeKey = `wk_${randomBytes(8).toString('hex')}`;
  const adminToken = randomBytes(16).toString('hex');
  // Chosen first: unsubscribe links and webhook signatures are built on the server's public URL.
  const port = await getPort({ host: '127.0.0.1' });
  const httpUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: options.temporalAddress,
    TEMPORAL_TASK_QUEUE: options.taskQueue ?? 'throughline',
    MONGODB_URL: options.mongoUrl,
    MONGODB_DATABASE: options.database ?? 'throughline',
    SMTP_URL: smtp.url,
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_API_BASE_URL: twilio.url,
    AUDIENCE_WEBHOOK_URL: audiences.url,
    AUDIENCE_WEBHOOK_SECRET: audiences.secret,
    UNSUBSCRIBE_SECRET: randomBytes(32).toString('base64url'),
    // Every payload sealed, as in production: tests and benches run with the codec on.
    PAYLOAD_KEYS: newPayloadKey(),
    FREQUENCY_CAP: options.frequencyCap ?? '3/24h',
    FREQUENCY_CAPS: options.frequencyCaps ?? '[]',
    QUIET_HOURS: options.quietHours ?? '{}',
    WRITE_KEYS: writeKey,
    ADMIN_TOKEN: adminToken,
    BOUNCE_DOMAIN: 'bounces.throughline.test',
    // Audience changes reach the platforms within a second or two, so the demo and tests see them.
    AUDIENCE_SYNC_INTERVAL: '1s',
    // An event left half done by its claimer is finished within seconds, not a minute.
    INBOUND_RECOVERY_INTERVAL: '1s',
    INBOUND_CLAIM_LEASE: '5s',
    // Reports catch up within seconds of the records they count.
    ROLLUP_INTERVAL: '2s',
    ROLLUP_LAG: '1s',
    BOUNCE_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    SEGMENT_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    RUDDERSTACK_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    JOURNEY_SETTINGS: JSON.stringify(options.journeySettings ?? {}),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(port),
    PUBLIC_BASE_URL: httpUrl,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...options.env,
  };
  const config = loadConfig(env);
  // Shared by the server and the worker here: the server's short wait (see server/server.ts) suits
  // both, as activities retry.
  const db = await openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE, {
    serverSelectionTimeoutMS: config.DEPENDENCY_TIMEOUT / 2,
    ...(options.monitorCommands ? { monitorCommands: true } : {}),
  });
  const temporal = await connectTemporal(config, db);
  const worker =
    options.startWorker === false ? undefined : await startWorker(config, { db, workflowBundlePath: options.workflowBundlePath });
  await ensureSchedules(temporal, config);
  const server = buildServer({ config, db, temporal, journeys: options.journeys, segments: options.segments, broadcasts: options.broadcasts });
  await server.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });

  return {
    config, env, db, temporal, smtp, twilio, audiences, worker, httpUrl, writeKey, adminToken,
    admin: (path, body) =>
      fetch(new URL(path, httpUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    async close({ dropDatabase = false } = {}) {
      await closing('server', () => server.close());
      await closing('worker', async () => worker?.shutdown());
      await closing('temporal connection', () => temporal.connection.close());
      // Not before the worker stops: its tasks in flight would find no customer keys, as if erased.
      if (dropDatabase) await closing('database drop', () => db.db.dropDatabase({ timeoutMS: 30_000 }).catch(() => undefined));
      await closing('database', () => db.close());
      await closing('sinks', () => Promise.all([smtp.close(), twilio.close(), audiences.close()]));
    },
  };
}

/** One step of closing: one still waiting after 30 s is named in the log, so a hang shows where it is. */
async function closing<T>(step: string, run: () => Promise<T>): Promise<T> {
  const slow = setInterval(() => logger.warn({ step }, 'closing the local system: a step is still waiting'), 30_000);
  try {
    return await run();
  } finally {
    clearInterval(slow);
  }
}
