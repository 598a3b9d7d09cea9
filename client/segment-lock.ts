/**
 * The lock of published segment versions, segments/definitions/versions.lock.json (see
 * version-lock.ts): `npm run cli -- segments lock` adds new versions; test/segment-definitions.test.ts
 * fails CI on a changed one.
 */
import { fileURLToPath } from 'node:url';
import { segmentFingerprint } from '../segments/sdk/fingerprint.js';
import type { SegmentDefinition } from '../segments/sdk/segment.js';
import * as versionLock from './version-lock.js';

export const SEGMENT_LOCK_FILE = fileURLToPath(new URL('../segments/definitions/versions.lock.json', import.meta.url));

export const readSegmentLock = (file = SEGMENT_LOCK_FILE) => versionLock.readLock(file);
export const compareSegmentsWithLock = (segments: readonly SegmentDefinition[], lock: versionLock.VersionLock) =>
  versionLock.compareWithLock(segments, lock, segmentFingerprint);
export const lockNewSegmentVersions = (segments: readonly SegmentDefinition[], file = SEGMENT_LOCK_FILE) =>
  versionLock.lockNewVersions(segments, file, segmentFingerprint);
