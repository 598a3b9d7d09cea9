/**
 * Testing a journey with simulated time, for journey authors:
 *
 *   const tester = await startJourneyTester();
 *   const ada = await tester.customer({ email: 'ada@example.com', timezone: 'Europe/Berlin' });
 *   await ada.track('Signed Up');
 *   await tester.advance('2 days');
 *   expect(await ada.emailSubjects()).toEqual([...]);
 *   expect(await ada.currentStep('welcomeSeries')).toBe('wait-for-first-order');
 *
 * Runs on Temporal's time-skipping test server with the real delivery path (database, SMTP server,
 * Twilio stand-in, audience webhook), routing events exactly as ingestion does: the segments first
 * (on the test server's clock), whose membership changes start and end journeys, then the journeys.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { deploymentWorkerOptions } from '../../worker.js';
import { inject } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { createRouter, type Router } from '../../events/router.js';
import { registerSearchAttributes } from '../../platform/search-attributes.js';
import { stackLogger } from '../../platform/logger.js';
import { ledgerForUser } from '../../store/ledger.js';
import { mergeTraits } from '../../store/profiles.js';
import { ensureTestServer } from '../../stack/tools.js';
import { waitUntil } from '../../stack/wait-until.js';
import { journeyVersions } from '../../workflows/journeys/index.js';
import { segmentVersions } from '../../segments/definitions/index.js';
import { createSegmentEngine, type SegmentEngine } from '../../segments/engine.js';
import { journeyWorkflowId, stateQuery } from '../../workflows/sdk/definitions.js';
import type { JourneyDefinition } from '../../workflows/sdk/journey.js';
import type { Duration, JourneyResult, StepRecord } from '../../workflows/sdk/types.js';
import { startTestSystem, uniqueId, type TestSystem } from './system.js';
import { sealedDataConverter } from '../../platform/payload-codec.js';

export interface TestCustomer {
  userId: string;
  email: string;
  /** Sends an event as the CDP would; `deployed` routes it as a build with only those versions would. */
  track(event: string, properties?: Record<string, unknown>, deployed?: readonly JourneyDefinition[]): Promise<void>;
  /** Traits from the CDP: into the profile, then the segments reading them (dates among them). */
  identify(traits: Record<string, unknown>): Promise<void>;
  /**
   * What the segment clock does after `advance`: each of the customer's noted instants that has come,
   * applied in order at its moment (a join and the leave after it are two changes), then now.
   */
  timePassed(deployed?: readonly JourneyDefinition[]): Promise<void>;
  emailSubjects(): string[];
  /** Waits (in real time) until this many emails have arrived for the customer. */
  waitForEmails(count: number): Promise<string[]>;
  /** Delivery decisions from the ledger, as "step:reason". */
  decisions(): Promise<string[]>;
  currentStep(journeyId: string, key?: string): Promise<string | undefined>;
  steps(journeyId: string, key?: string): Promise<StepRecord[]>;
  /** Waits for the instance to finish, skipping simulated time. Await one result at a time. */
  result(journeyId: string, key?: string): Promise<JourneyResult>;
}

export interface JourneyTester {
  system: TestSystem;
  env: TestWorkflowEnvironment;
  /** The task queue its workers poll (a broadcast or workflow started by a test names it). */
  taskQueue: string;
  customer(traits?: Record<string, unknown>, userId?: string): Promise<TestCustomer>;
  /** The router a build with these versions routes with (the shipped build's by default). */
  router(deployed?: readonly JourneyDefinition[]): Router;
  advance(duration: Duration): Promise<void>;
  now(): Promise<number>;
  close(): Promise<void>;
}

export async function startJourneyTester(options: { settings?: Record<string, Record<string, Duration>> } = {}): Promise<JourneyTester> {
  const path = await ensureTestServer(stackLogger);
  const system = await startTestSystem({ startWorker: false });
  // Sealed with the system's keys, as every client and worker of a deployment is.
  const dataConverter = sealedDataConverter(system.config.PAYLOAD_KEYS)!;
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } }, client: { dataConverter } });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  const taskQueue = uniqueId('journeys');
  // Activities that call Temporal (a recurring broadcast starting its occurrence) call this server, for this queue.
  const { activities, close: closeActivities } = await createActivities({ ...system.config, TEMPORAL_TASK_QUEUE: taskQueue }, system.db, { temporal: env.client });
  const workflowBundle = { codePath: inject('workflowBundlePath') };
  const workers = await Promise.all(
    deploymentWorkerOptions(taskQueue, activities, {}).map(({ workflows, ...queue }) =>
      Worker.create({ connection: env.nativeConnection, dataConverter, ...queue, ...(workflows ? { workflowBundle } : {}) }),
    ),
  );
  const running = Promise.all(workers.map((w) => w.run()));
  const routers = new Map<readonly JourneyDefinition[], Router>();
  const routerFor = (deployed: readonly JourneyDefinition[]) => {
    if (!routers.has(deployed)) {
      routers.set(deployed, createRouter({ client: env.client, db: system.db, taskQueue, journeys: deployed, settings: options.settings ?? {} }));
    }
    return routers.get(deployed)!;
  };
  const now = async () => Number(await env.currentTimeMs());
  // The engine's clock is the test server's, read before each call (the engine reads it synchronously).
  let clock = 0;
  const engines = new Map<readonly JourneyDefinition[], SegmentEngine>();
  const segmentsFor = async (deployed: readonly JourneyDefinition[]) => {
    clock = await now();
    if (!engines.has(deployed)) {
      const options = { segments: segmentVersions, eventRetentionMs: system.config.SEGMENT_EVENT_RETENTION, now: () => clock, listener: routerFor(deployed) };
      engines.set(deployed, createSegmentEngine(system.db, options));
    }
    return engines.get(deployed)!;
  };

  return {
    system,
    env,
    taskQueue,
    now,
    router: (deployed = journeyVersions) => routerFor(deployed),
    advance: (duration) => env.sleep(duration),
    async customer(traits = {}, userId = uniqueId('customer')) {
      const email = `${userId}@example.com`;
      await mergeTraits(system.db.collections.profiles, userId, { email, ...traits }, new Date(await now()));
      // As ingestion does after an identify: the segments reading these traits (a birthday) know them.
      await (await segmentsFor(journeyVersions)).traitsChanged(userId, ['email', ...Object.keys(traits)], 'identify tester');
      const handle = (journeyId: string, key?: string) => env.client.workflow.getHandle(journeyWorkflowId(journeyId, userId, key));
      const mine = () => system.smtp.messagesTo(email);
      return {
        userId,
        email,
        async track(event, properties = {}, deployed = journeyVersions) {
          const segments = await segmentsFor(deployed);
          const messageId = uniqueId('m');
          await segments.recordEvent(userId, { messageKey: `tester:${messageId}`, event, at: new Date(clock), properties }, `event tester:${messageId}`);
          await routerFor(deployed).route({ messageId, event, userId, timestamp: new Date(clock).toISOString(), properties });
        },
        async identify(traits) {
          await mergeTraits(system.db.collections.profiles, userId, traits, new Date(await now()));
          await (await segmentsFor(journeyVersions)).traitsChanged(userId, Object.keys(traits), 'identify tester');
        },
        async timePassed(deployed = journeyVersions) {
          const segments = await segmentsFor(deployed);
          const until = clock;
          const dues = system.db.collections.segmentDues;
          for (;;) {
            const due = (await dues.find({ userId }).toArray()).filter((d) => d.dueAt.getTime() <= until).sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())[0];
            if (!due) break;
            clock = due.dueAt.getTime();
            await segments.refresh(userId, 'time');
            await dues.deleteOne({ _id: due._id });
          }
          clock = until;
          await segments.refresh(userId, 'time');
        },
        emailSubjects: () => mine().map((m) => m.subject ?? ''),
        async waitForEmails(count) {
          await waitUntil(() => mine().length >= count, 30_000, `${count} email(s) for ${userId}`);
          return mine().map((m) => m.subject ?? '');
        },
        decisions: async () => (await ledgerForUser(system.db.collections.ledger, userId)).map((e) => `${e.stepId}:${e.reason}`),
        currentStep: async (journeyId, key) => (await handle(journeyId, key).query(stateQuery)).currentStep,
        steps: async (journeyId, key) => (await handle(journeyId, key).query(stateQuery)).steps,
        result: (journeyId, key) => handle(journeyId, key).result() as Promise<JourneyResult>,
      };
    },
    async close() {
      for (const worker of workers) worker.shutdown();
      await running;
      closeActivities();
      await system.close();
      await env.teardown();
    },
  };
}
