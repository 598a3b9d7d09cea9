/**
 * Starts the real stack once per test run (Temporal dev server and FerretDB, or the servers named by
 * TEMPORAL_ADDRESS / MONGODB_URL), bundles the workflow code once for every test worker, and finds
 * (or installs) chromium for the console's browser tests and Temporal's time-skipping test server for
 * the journey tests, so that no test file installs a tool in the middle of the run.
 */
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { startStack } from '../../stack/index.js';
import { ensureChromium, ensureTestServer } from '../../stack/tools.js';
import { workflowsPath } from '../../worker.js';
import { newPayloadKey } from '../../platform/payload-codec.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    mongoUrl: string;
    workflowBundlePath: string;
    chromiumPath: string;
    /** One key for the run: every test file's histories live on one Temporal, as one deployment's do. */
    payloadKeys: string;
  }
}

export default async function setup(project: TestProject) {
  const log = pino({ level: 'info' });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'throughline-test-'));
  const stack = await startStack({ dataDir: dir, headless: true, log });
  try {
    const bundlePath = path.join(dir, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    await writeFile(bundlePath, code);
    project.provide('temporalAddress', stack.temporalAddress);
    project.provide('mongoUrl', stack.mongoUrl);
    project.provide('workflowBundlePath', bundlePath);
    project.provide('chromiumPath', await ensureChromium(log));
    project.provide('payloadKeys', newPayloadKey());
    await ensureTestServer(log);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
