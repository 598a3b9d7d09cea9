/**
 * A lock of published versions (journeys', segments'): each version's fingerprint as it was first
 * published. Customers in flight are under a published version, so a version in the lock may never
 * change; a change is a new version beside it. Locking adds new versions and refuses to overwrite a
 * changed one; a test per lock fails CI on one. Entries stay after a version leaves the build, so its
 * number cannot come back meaning something else.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { changedParts, type Fingerprint } from '../workflows/sdk/definition-fingerprint.js';

/** id → version → fingerprint. */
export type VersionLock = Record<string, Record<string, Fingerprint>>;

export interface ChangedVersion {
  id: string;
  version: number;
  changes: string[];
}

interface Versioned {
  id: string;
  version: number;
}

export async function readLock(file: string): Promise<VersionLock> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as VersionLock;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

export const lockedFingerprint = (lock: VersionLock, id: string, version: number): Fingerprint | undefined => lock[id]?.[String(version)];

/** The build's versions the lock does not hold yet, and those that differ from what the lock holds. */
export function compareWithLock<T extends Versioned>(versions: readonly T[], lock: VersionLock, fingerprintOf: (v: T) => Fingerprint) {
  const unlocked: T[] = [];
  const changed: ChangedVersion[] = [];
  for (const item of versions) {
    const locked = lockedFingerprint(lock, item.id, item.version);
    if (!locked) {
      unlocked.push(item);
      continue;
    }
    const current = fingerprintOf(item);
    if (locked.definition !== current.definition) changed.push({ id: item.id, version: item.version, changes: changedParts(locked, current) });
  }
  return { unlocked, changed };
}

export const describeChange = (c: ChangedVersion) => `${c.id} v${c.version}: ${c.changes.join(', ')}`;

/** Adds the build's new versions to the lock; writes nothing if a locked version changed. */
export async function lockNewVersions<T extends Versioned>(versions: readonly T[], file: string, fingerprintOf: (v: T) => Fingerprint) {
  const lock = await readLock(file);
  const { unlocked, changed } = compareWithLock(versions, lock, fingerprintOf);
  if (changed.length || !unlocked.length) return { added: [], changed };
  for (const item of unlocked) (lock[item.id] ??= {})[String(item.version)] = fingerprintOf(item);
  const sorted = Object.fromEntries(
    Object.keys(lock)
      .sort()
      .map((id) => [id, Object.fromEntries(Object.entries(lock[id]!).sort(([a], [b]) => Number(a) - Number(b)))]),
  );
  await writeFile(file, `${JSON.stringify(sorted, null, 2)}\n`);
  return { added: unlocked.map((v) => `${v.id} v${v.version}`), changed };
}

/** What `journeys lock` and `segments lock` print; a changed published version fails the command. */
export function printLockResult({ added, changed }: { added: string[]; changed: ChangedVersion[] }): void {
  for (const version of changed) console.log(`CHANGED ${describeChange(version)}`);
  if (changed.length) {
    console.log('published versions are immutable: put the change in a new version beside the old one, and lock that');
    process.exitCode = 1;
    return;
  }
  console.log(added.length ? `locked ${added.join(', ')}` : 'the lock is up to date');
}
