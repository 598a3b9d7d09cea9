/**
 * Child processes of the embedded stack. Every process started here is stopped when this process
 * exits, on Ctrl-C / SIGTERM too, and when it is killed outright (SIGKILL, the OOM killer): a
 * guard process outlives it just long enough to stop them, so no server outlives the demo, `npm
 * start` or the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set<ChildProcess>();
let handlersInstalled = false;
let exitOnSignal = true;

/**
 * The caller stops everything itself on SIGINT / SIGTERM, in its own order (`npm start` drains the
 * worker and the server before the servers they need); leftovers are still killed at exit.
 */
export function leaveSignalsToCaller(): void {
  exitOnSignal = false;
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' handlers must be synchronous: a signal is all that can still be sent.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (!exitOnSignal) return;
      for (const child of running) child.kill('SIGTERM');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * The guard: a small node process in a group of its own, reading from a pipe what to stop
 * ("+<pid> <signal> group|process", "-<pid>" once it is gone). Nothing can hold a pipe open for a
 * dead process, so when this one dies however it dies, the guard reads the end, signals what is
 * left, SIGKILLs what has not gone 10 s later, and exits. A signal only reaches what is still
 * listed, so a pid reused after its process ended is never hit.
 */
const GUARD = `
const listed = new Map();
let rest = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (rest + chunk).split('\\n');
  rest = lines.pop();
  for (const line of lines) {
    const [id, signal, scope] = line.split(' ');
    const pid = Number(id.slice(1));
    if (id[0] === '+') listed.set(pid, { signal, target: scope === 'group' ? -pid : pid });
    else listed.delete(pid);
  }
});
const send = (signal) => { for (const entry of listed.values()) try { process.kill(entry.target, signal ?? entry.signal); } catch {} };
const alive = () => [...listed.values()].some((entry) => { try { process.kill(entry.target, 0); return true; } catch { return false; } });
process.stdin.on('end', () => {
  send();
  const started = Date.now();
  const check = setInterval(() => {
    if (!alive()) process.exit(0);
    if (Date.now() - started > 10000) { send('SIGKILL'); process.exit(0); }
  }, 100);
});
`;

let guard: ChildProcess | undefined;

/**
 * Lists a child with the guard, to be sent `signal` (its whole process group with `group`) if this
 * process dies before it has stopped the child itself.
 */
export function guardAgainstOrphan(child: ChildProcess, signal: NodeJS.Signals, scope: 'group' | 'process'): void {
  if (child.pid === undefined) return;
  if (!guard) {
    guard = spawn(process.execPath, ['-e', GUARD, 'throughline-guard'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    // Neither the guard nor its pipe keeps this process alive.
    guard.unref();
    (guard.stdin as net.Socket).unref();
    guard.stdin!.on('error', () => {});
  }
  const pid = child.pid;
  guard.stdin!.write(`+${pid} ${signal} ${scope}\n`);
  child.once('exit', () => guard?.stdin?.writable && guard.stdin.write(`-${pid}\n`));
}

export interface ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  /** The current process (a new one after `start`). */
  readonly child: ChildProcess;
  stop(): Promise<void>;
  /** SIGKILL to it and its children, as a crash: no chance to flush or say goodbye. */
  kill(): Promise<void>;
  /** Starts it again with the same command, after `stop` or `kill` (as a supervisor would). */
  start(): void;
}

export interface ProcessOptions {
  /** Run as this user (a root parent starting a server that refuses root). */
  user?: { uid: number; gid: number };
  /** What `stop` sends first (default SIGTERM); SIGKILL follows after 10 s. */
  stopSignal?: NodeJS.Signals;
}

export async function startProcess(
  name: string,
  command: string,
  args: string[],
  logDir: string,
  options: ProcessOptions = {},
): Promise<ManagedProcess> {
  installExitHandlers();
  await mkdir(logDir, { recursive: true });
  const logFile = path.join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const spawnChild = () => {
    // A process group of its own: Ctrl-C in a terminal reaches only us, and we stop it in order.
    const spawned = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options.user });
    spawned.stdout?.pipe(log, { end: false });
    spawned.stderr?.pipe(log, { end: false });
    running.add(spawned);
    spawned.once('exit', () => running.delete(spawned));
    guardAgainstOrphan(spawned, options.stopSignal ?? 'SIGTERM', 'group');
    return spawned;
  };
  let child = spawnChild();
  const exited = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve())));
  return {
    name,
    logFile,
    get child() {
      return child;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = exited();
      child.kill(options.stopSignal ?? 'SIGTERM');
      const forced = sleep(10_000).then(() => child.kill('SIGKILL'));
      await Promise.race([done, forced]);
      await done;
    },
    async kill() {
      const done = exited();
      // The whole process group: a server's own children (PostgreSQL's backends) die with it, as
      // in a machine's crash, and a restart finds none of them still attached.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
      await done;
    },
    start() {
      if (child.exitCode === null && child.signalCode === null) throw new Error(`${name} is still running`);
      child = spawnChild();
    },
  };
}

async function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until the process accepts TCP connections, failing early (with its log) if it dies first. */
export async function waitForPort(proc: ManagedProcess, host: string, port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited before it was ready; its log (${proc.logFile}):\n${await tail(proc.logFile)}`);
    }
    if (await canConnect(host, port)) return;
    await sleep(100);
  }
  throw new Error(`${proc.name} did not listen on ${host}:${port} within ${timeoutMs} ms; log: ${proc.logFile}`);
}

/** Waits until the process writes `line` to its log after `fromOffset` (the log's size before it started). */
export async function waitForLogLine(proc: ManagedProcess, line: string, fromOffset: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited before it was ready; its log (${proc.logFile}):\n${await tail(proc.logFile)}`);
    }
    const text = await readFile(proc.logFile).catch(() => Buffer.alloc(0));
    if (text.subarray(fromOffset).includes(line)) return;
    await sleep(100);
  }
  throw new Error(`${proc.name} did not say "${line}" within ${timeoutMs} ms; log: ${proc.logFile}`);
}

async function tail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-20).join('\n');
}
