import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { projectRoot } from '../../stack/paths.js';

/** Runs the CLI as an operator would, with the system's environment; resolves with its stdout. */
export async function runCli(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'client/cli.ts', ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
  });
  return stdout;
}
