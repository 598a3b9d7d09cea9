/** The delivery activity run in Temporal's activity context, as a worker runs it, for direct tests. */
import type * as activity from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.js';
import type { Config } from '../../config.js';
import type { Database } from '../../store/db.js';
import { mergeTraits } from '../../store/profiles.js';
import type { DeliveryOutcome, DeliveryRequest } from '../../workflows/sdk/types.js';

/**
 * An activity attempt as a worker runs it: scheduled now, with the journeys' one-minute start-to-close
 * timeout (the mock's own defaults put the attempt's deadline in the past).
 */
const attemptEnvironment = (info: Partial<activity.Info> = {}) =>
  new MockActivityEnvironment({ attempt: 1, startToCloseTimeoutMs: 60_000, currentAttemptScheduledTimestampMs: Date.now(), ...info });

export function deliverer(config: Config, db: Database) {
  const created = createActivities(config, db);
  return {
    deliver: async (request: DeliveryRequest) => attemptEnvironment().run((await created).activities.deliver, request) as Promise<DeliveryOutcome>,
    /**
     * As Temporal runs the activity: a failed attempt is retried, and each attempt gets the heartbeat
     * details last recorded by an earlier one. Returns the outcome and how many attempts it took.
     */
    async deliverWithRetries(
      request: DeliveryRequest,
      options: {
        maxAttempts?: number;
        startToCloseTimeoutMs?: number;
        onAttempt?: (attempt: number) => void;
        /** When each attempt was scheduled (default: as it starts); earlier, as if it waited in a queue. */
        scheduledAt?: (attempt: number) => number;
      } = {},
    ): Promise<{ outcome: DeliveryOutcome; attempts: number }> {
      const { deliver } = (await created).activities;
      const { maxAttempts = 10, startToCloseTimeoutMs = 10_000 } = options;
      let heartbeatDetails: unknown;
      for (let attempt = 1; ; attempt++) {
        options.onAttempt?.(attempt);
        const scheduled = options.scheduledAt?.(attempt) ?? Date.now();
        const env = attemptEnvironment({ attempt, heartbeatDetails, startToCloseTimeoutMs, currentAttemptScheduledTimestampMs: scheduled });
        env.on('heartbeat', (details: unknown) => (heartbeatDetails = details));
        try {
          return { outcome: (await env.run(deliver, request)) as DeliveryOutcome, attempts: attempt };
        } catch (err) {
          if (attempt >= maxAttempts) throw err;
        }
      }
    },
    close: async () => (await created).close(),
  };
}

/** A marketing cart-reminder email for `userId`; the key follows the step, so the same step is the same send. */
export function deliveryRequest(userId: string, overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  const stepId = overrides.stepId ?? 'cart-reminder-email';
  return {
    idempotencyKey: `wf-${userId}/run/${stepId}#1`,
    journeyId: 'cartAbandonment',
    stepId,
    workflowId: `wf-${userId}`,
    userId,
    category: 'marketing',
    data: {},
    firstAttemptAt: new Date().toISOString(),
    channel: 'email',
    template: 'cart-reminder',
    ...overrides,
  } as DeliveryRequest;
}

/** A customer with an email address, sent the cart reminder through the whole delivery path; returns the outcome. */
export async function emailSentTo(config: Config, db: Database, userId: string): Promise<DeliveryOutcome> {
  await mergeTraits(db.collections.profiles, userId, { email: `${userId}@example.com` });
  const { deliver, close } = deliverer(config, db);
  try {
    return await deliver(deliveryRequest(userId));
  } finally {
    await close();
  }
}
