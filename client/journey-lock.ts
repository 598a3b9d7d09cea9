/**
 * The lock of published journey versions, workflows/journeys/versions.lock.json: each version's
 * fingerprint as it was first published. Instances in flight run a published version, so a version in
 * the lock may never change; a change is a new version beside it. `npm run cli -- journeys lock` adds
 * new versions and refuses to overwrite a changed one; test/journey-lock.test.ts fails CI on one.
 * Entries stay after a version leaves the build, so its number cannot come back meaning something else.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { changedParts, fingerprint, type Fingerprint } from '../workflows/sdk/definition-fingerprint.js';
import type { JourneyDefinition } from '../workflows/sdk/journey.js';

export const LOCK_FILE = fileURLToPath(new URL('../workflows/journeys/versions.lock.json', import.meta.url));

/** journey id → version → fingerprint. */
export type JourneyLock = Record<string, Record<string, Fingerprint>>;

export interface ChangedVersion {
  journeyId: string;
  version: number;
  changes: string[];
}

export async function readLock(file = LOCK_FILE): Promise<JourneyLock> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as JourneyLock;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

export const lockedFingerprint = (lock: JourneyLock, journeyId: string, version: number): Fingerprint | undefined => lock[journeyId]?.[String(version)];

/** The build's versions the lock does not hold yet, and those that differ from what the lock holds. */
export function compareWithLock(journeys: readonly JourneyDefinition[], lock: JourneyLock) {
  const unlocked: JourneyDefinition[] = [];
  const changed: ChangedVersion[] = [];
  for (const journey of journeys) {
    const locked = lockedFingerprint(lock, journey.id, journey.version);
    if (!locked) {
      unlocked.push(journey);
      continue;
    }
    const current = fingerprint(journey);
    if (locked.definition !== current.definition) changed.push({ journeyId: journey.id, version: journey.version, changes: changedParts(locked, current) });
  }
  return { unlocked, changed };
}

export const describeChange = (c: ChangedVersion) => `${c.journeyId} v${c.version}: ${c.changes.join(', ')}`;

/** Adds the build's new versions to the lock; writes nothing if a locked version changed. */
export async function lockNewVersions(journeys: readonly JourneyDefinition[], file = LOCK_FILE) {
  const lock = await readLock(file);
  const { unlocked, changed } = compareWithLock(journeys, lock);
  if (changed.length || !unlocked.length) return { added: [], changed };
  for (const journey of unlocked) (lock[journey.id] ??= {})[String(journey.version)] = fingerprint(journey);
  const sorted = Object.fromEntries(
    Object.keys(lock)
      .sort()
      .map((id) => [id, Object.fromEntries(Object.entries(lock[id]!).sort(([a], [b]) => Number(a) - Number(b)))]),
  );
  await writeFile(file, `${JSON.stringify(sorted, null, 2)}\n`);
  return { added: unlocked.map((j) => `${j.id} v${j.version}`), changed };
}
