/**
 * Every segment version this build computes. Add a version by adding its definition here: it is
 * backfilled over the existing profiles and computed from every event on. Remove a version once no
 * journey or broadcast reads it. Journeys entered on a date bring their own (date-entries.ts).
 */
import type { SegmentDefinition } from '../sdk/segment.js';
import { engagedBrowsers } from './engaged-browsers.js';
import { lapsed } from './lapsed.js';
import { newsletter } from './newsletter.js';
import { vip } from './vip.js';
import { dateEntrySegments } from './date-entries.js';
import { journeyVersions } from '../../workflows/journeys/index.js';

export const segmentVersions: readonly SegmentDefinition[] = [lapsed, vip, engagedBrowsers, newsletter, ...dateEntrySegments(journeyVersions)];
