/**
 * One run at a time on a data folder, and nothing left of an earlier one. The guard in processes.ts
 * stops a run's servers when the run dies; if the guard was killed too (a whole machine's processes
 * SIGKILLed, a container stopped half way), its servers are still running on the folder, holding
 * Temporal's SQLite file and PostgreSQL's cluster. The next run stops them before it starts its own,
 * and says so; a run still alive keeps the folder, and the new one stops with the reason.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

const run = promisify(execFile);

/** The servers the stack starts, by the name of their binary. */
const SERVER_BINARIES = new Set(['temporal', 'ferretdb', 'postgres']);

interface ProcessRow {
  pid: number;
  ppid: number;
  pgid: number;
  args: string;
}

/**
 * The live processes. Zombies are left out: a killed run's processes stay in the table as zombies
 * until someone reaps them, and a container's init may never do so; they hold nothing.
 */
async function processes(): Promise<ProcessRow[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,pgid=,stat=,args='], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match || match[4]!.startsWith('Z')) return [];
    return [{ pid: Number(match[1]), ppid: Number(match[2]), pgid: Number(match[3]), args: match[5]! }];
  });
}

const anyAlive = async (rows: ProcessRow[]) => {
  const live = new Set((await processes()).map((p) => p.pid));
  return rows.filter((p) => live.has(p.pid));
};

/**
 * Takes `dir` for this process: refuses if another live run holds it, stops the servers an earlier
 * run left on it (those whose command names `dir` or one of `alsoAt`), and returns the release.
 */
export async function claimDataFolder(dir: string, log: Logger, alsoAt: string[] = []): Promise<() => Promise<void>> {
  const ownerFile = path.join(dir, 'owner.pid');
  const table = await processes();
  const owner = Number((await readFile(ownerFile, 'utf8').catch(() => '')).trim());
  const ownerRow = table.find((p) => p.pid === owner);
  if (owner && owner !== process.pid && ownerRow && /\bnode\b/.test(ownerRow.args)) {
    throw new Error(
      `the data folder ${dir} is in use by process ${owner} (another npm start, demo or test run): stop it, or set THROUGHLINE_DATA_DIR to another folder`,
    );
  }
  await writeFile(ownerFile, `${process.pid}\n`);

  const ancestors = new Set<number>();
  for (let pid: number | undefined = process.pid; pid && !ancestors.has(pid); pid = table.find((p) => p.pid === pid)?.ppid) ancestors.add(pid);
  const places = [dir, ...alsoAt].map((p) => path.resolve(p));
  const leftovers = table.filter(
    (p) => !ancestors.has(p.pid) && SERVER_BINARIES.has(path.basename(p.args.split(' ')[0]!)) && places.some((place) => p.args.includes(place)),
  );
  if (leftovers.length) {
    log.warn(
      { servers: leftovers.map((p) => ({ pid: p.pid, server: path.basename(p.args.split(' ')[0]!) })) },
      `stopping servers an earlier run left running on ${dir} (it was killed before it could stop them)`,
    );
    const target = (p: ProcessRow) => (p.pgid === p.pid ? -p.pid : p.pid);
    const signal = (p: ProcessRow, sig: NodeJS.Signals) => {
      try {
        process.kill(target(p), sig);
      } catch {
        // gone already
      }
    };
    for (const p of leftovers) signal(p, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while ((await anyAlive(leftovers)).length && Date.now() < deadline) await sleep(200);
    for (const p of await anyAlive(leftovers)) signal(p, 'SIGKILL');
    while ((await anyAlive(leftovers)).length) await sleep(100);
  }
  return async () => {
    const still = (await readFile(ownerFile, 'utf8').catch(() => '')).trim();
    if (still === String(process.pid)) await rm(ownerFile, { force: true });
  };
}
