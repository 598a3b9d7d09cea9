/**
 * A worker that cannot serve its /metrics and health port stops before it polls Temporal: had it taken
 * tasks first, they would wait out their timeouts while the customers' sends stand still.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestSystem, type TestSystem } from './support/system.js';
import { startWorkerProcess } from './support/worker-process.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false });
});
afterAll(async () => system?.close());

it('exits without taking work when its HTTP port is taken', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  try {
    const worker = startWorkerProcess({ ...system.env, WORKER_HTTP_PORT: String(port) });
    expect(await worker.exited).not.toBe(0);
    // One line that names the port and the variable that moves it, no stack trace.
    const said = worker.output().trim().split('\n');
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect(said[0]).toContain('set WORKER_HTTP_PORT to another port');

    const identity = new RegExp(`^${worker.child.pid}@`);
    for (const taskQueueType of [1, 2]) {
      const { pollers } = await system.temporal.workflowService.describeTaskQueue({
        namespace: system.env.TEMPORAL_NAMESPACE ?? 'default',
        taskQueue: { name: system.env.TEMPORAL_TASK_QUEUE },
        taskQueueType,
      });
      expect((pollers ?? []).map((p) => p.identity ?? '')).not.toContainEqual(expect.stringMatching(identity));
    }
  } finally {
    taken.close();
  }
});
