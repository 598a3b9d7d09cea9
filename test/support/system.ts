/** A Throughline system of its own for one test file, on the run's shared Temporal and database server. */
import { randomBytes } from 'node:crypto';
import { installTemporalRuntime } from '../../platform/temporal-runtime.js';
import { inject } from 'vitest';
import { postSegment } from '../../client/segment-http.js';
import { ledgerForUser } from '../../store/ledger.js';
import { waitUntil } from '../../stack/wait-until.js';
import { removeSchedules } from '../../platform/maintenance-schedules.js';
import { startLocalSystem, type LocalSystem, type LocalSystemOptions } from '../../stack/local-system.js';
import { journeyWorkflowId } from '../../workflows/sdk/definitions.js';
import type { JourneyResult } from '../../workflows/sdk/types.js';

// Temporal's own logs go through pino at LOG_LEVEL (warn in tests), before any connection exists.
installTemporalRuntime();

export type TestSystem = LocalSystem & {
  track(userId: string, event: string, properties?: Record<string, unknown>, messageId?: string): Promise<unknown>;
  identify(userId: string, traits: Record<string, unknown>, messageId?: string): Promise<unknown>;
  post(path: string, body: unknown): ReturnType<typeof postSegment>;
  reasons(userId: string): Promise<string[]>;
  /** The ledger reasons once `count` decisions are final (a send in progress shows as "sending"). */
  settledReasons(userId: string, count?: number): Promise<string[]>;
  journeyResult(userId: string, journey?: string): Promise<JourneyResult>;
};

export const uniqueId = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

export async function startTestSystem(options: Partial<LocalSystemOptions> = {}): Promise<TestSystem> {
  const system = await startLocalSystem({
    temporalAddress: inject('temporalAddress'),
    mongoUrl: inject('mongoUrl'),
    workflowBundlePath: inject('workflowBundlePath'),
    database: uniqueId('test').replace('-', '_'),
    taskQueue: uniqueId('test'),
    ...options,
    // The run's key: a CLI replaying every instance of a journey on the shared server opens them all.
    env: { PAYLOAD_KEYS: inject('payloadKeys'), ...options.env },
  });
  const reasons = async (userId: string) => (await ledgerForUser(system.db.collections.ledger, userId)).map((e) => `${e.stepId}:${e.reason}`);
  const post = (path: string, body: unknown) => postSegment(system.httpUrl, system.writeKey, path, body);
  const expectAccepted = async (path: string, body: unknown) => {
    const response = await post(path, body);
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  };
  return {
    ...system,
    post,
    track: (userId, event, properties = {}, messageId = uniqueId('msg')) =>
      expectAccepted('/v1/track', { userId, event, properties, messageId, timestamp: new Date().toISOString() }),
    identify: (userId, traits, messageId = uniqueId('msg')) => expectAccepted('/v1/identify', { userId, traits, messageId }),
    reasons,
    async settledReasons(userId, count = 1) {
      const settled = (list: string[]) => list.length >= count && !list.some((r) => r.endsWith(':sending'));
      await waitUntil(async () => settled(await reasons(userId)), 20_000, `${count} final ledger decision(s) for ${userId}`);
      return reasons(userId);
    },
    journeyResult: (userId, journey = 'cartAbandonment') =>
      system.temporal.workflow.getHandle(journeyWorkflowId(journey, userId)).result() as Promise<JourneyResult>,
    async close() {
      await removeSchedules(system.temporal, system.config.TEMPORAL_TASK_QUEUE);
      await system.close({ dropDatabase: true });
    },
  };
}
