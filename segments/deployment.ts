/** The deployment's segment engine: this build's segment versions (or those given) with the configured retention. */
import type { Config } from '../config.js';
import type { Database } from '../store/db.js';
import type { ChangeListener } from './change-dispatch.js';
import { segmentVersions } from './definitions/index.js';
import { createSegmentEngine, type SegmentEngine } from './engine.js';
import type { SegmentDefinition } from './sdk/segment.js';

export function deploymentSegments(
  db: Database,
  config: Pick<Config, 'SEGMENT_EVENT_RETENTION'>,
  segments: readonly SegmentDefinition[] = segmentVersions,
  listener?: ChangeListener,
): SegmentEngine {
  return createSegmentEngine(db, { segments, eventRetentionMs: config.SEGMENT_EVENT_RETENTION, listener });
}
