/**
 * The lock of published journey versions, workflows/journeys/versions.lock.json (see
 * version-lock.ts): `npm run cli -- journeys lock` adds new versions; test/journey-lock.test.ts
 * fails CI on a changed one.
 */
import { fileURLToPath } from 'node:url';
import { fingerprint } from '../workflows/sdk/definition-fingerprint.js';
import type { JourneyDefinition } from '../workflows/sdk/journey.js';
import * as versionLock from './version-lock.js';

export const LOCK_FILE = fileURLToPath(new URL('../workflows/journeys/versions.lock.json', import.meta.url));

export type JourneyLock = versionLock.VersionLock;
export { describeChange, lockedFingerprint, type ChangedVersion } from './version-lock.js';

export const readLock = (file = LOCK_FILE) => versionLock.readLock(file);
export const compareWithLock = (journeys: readonly JourneyDefinition[], lock: JourneyLock) => versionLock.compareWithLock(journeys, lock, fingerprint);
export const lockNewVersions = (journeys: readonly JourneyDefinition[], file = LOCK_FILE) => versionLock.lockNewVersions(journeys, file, fingerprint);
