/**
 * A segment version's fingerprint, for its lock (segments/definitions/versions.lock.json): its
 * condition decides who is in, so it is all that is locked; the description may change.
 */
import { canonical, hash, type Fingerprint } from '../../workflows/sdk/definition-fingerprint.js';
import type { SegmentDefinition } from './segment.js';

export function segmentFingerprint(segment: SegmentDefinition): Fingerprint {
  const parts = { where: hash(canonical(segment.where)) };
  return { definition: hash(canonical(parts)), parts };
}
