/**
 * PostgreSQL refuses root, so a root run (CI, containers) runs it as `nobody`. A data folder that
 * `nobody` cannot reach (inside a 0700 folder, as `mktemp -d` makes) gets its cluster under /var/tmp;
 * every folder on the way there must let `nobody` through, however it came to exist.
 */
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { accessible } from '../stack/tools.js';
import { clusterDir, ensurePostgres, prepareCluster, sharedClusterDir } from '../stack/postgres.js';

const log = pino({ level: 'silent' });
const closed = await mkdtemp(path.join(os.tmpdir(), 'throughline-closed-'));
afterAll(async () => {
  await rm(closed, { recursive: true, force: true });
  await rm(sharedClusterDir(path.join(closed, 'data')), { recursive: true, force: true });
});

it.runIf(process.getuid?.() === 0)('creates a cluster for a data folder nobody can reach, under a folder nobody can pass', async () => {
  const dataDir = path.join(closed, 'data');
  const install = await ensurePostgres(log);
  await mkdir(dataDir);
  // As a recursive mkdir of the cluster's own 0700 folder leaves it, on a machine that ran an older version.
  await chmod(path.dirname(sharedClusterDir(dataDir)), 0o700).catch(() => {});
  const dir = await clusterDir(dataDir, install, log);
  expect(dir).toBe(sharedClusterDir(dataDir));
  await prepareCluster(dir, install);
  expect(await accessible(path.join(dir, 'PG_VERSION'))).toBe(true);
});
