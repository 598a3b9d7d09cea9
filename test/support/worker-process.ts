/**
 * Runs `worker.ts` (or the ingestion server) as its own process, the way it is deployed: a test can
 * kill a worker mid-send, or time a server's answers without a worker sharing its event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot } from '../../stack/paths.js';
import { inject } from 'vitest';

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the exit code when the process ends (null when a signal ended it). */
  exited: Promise<number | null>;
  kill(): Promise<void>;
  /** What it has printed so far (it is also passed on to this process's own output). */
  output(): string;
}

export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  // Any free port for its /metrics: several workers run at once, in one test and across files.
  return startOwnProcess('worker.ts', { WORKER_HTTP_PORT: '0', ...env, WORKFLOW_BUNDLE: inject('workflowBundlePath') });
}

/** The ingestion server on `env`'s HTTP_PORT. */
export function startServerProcess(env: Record<string, string>): WorkerProcess {
  return startOwnProcess('server/server.ts', env);
}

function startOwnProcess(script: string, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    process.stdout.write(chunk);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
