/** The deployment's segment engine: this build's segment versions with the configured retention. */
import type { Config } from '../config.js';
import type { Database } from '../store/db.js';
import { segmentVersions } from './definitions/index.js';
import { createSegmentEngine, type SegmentEngine } from './engine.js';

export function deploymentSegments(db: Database, config: Pick<Config, 'SEGMENT_EVENT_RETENTION'>): SegmentEngine {
  return createSegmentEngine(db, { segments: segmentVersions, eventRetentionMs: config.SEGMENT_EVENT_RETENTION });
}
