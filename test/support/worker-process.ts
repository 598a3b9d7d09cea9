/** Runs `worker.ts` as its own process, the way it is deployed, so a test can kill it mid-send. */
import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot } from '../../stack/paths.js';
import { inject } from 'vitest';

export interface WorkerProcess {
  child: ChildProcess;
  kill(): Promise<void>;
}

export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: projectRoot,
    env: { ...process.env, ...env, WORKFLOW_BUNDLE: inject('workflowBundlePath') },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
