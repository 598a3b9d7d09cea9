/**
 * Search attributes on every journey instance: who, which journey and version (and the definition it
 * started with), and the step it is in, so "every journey of user X" and "how many customers wait at
 * step Y" are visibility queries.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const USER_ID = defineSearchAttributeKey('ThroughlineUserId', SearchAttributeType.KEYWORD);
export const JOURNEY = defineSearchAttributeKey('ThroughlineJourney', SearchAttributeType.KEYWORD);
export const JOURNEY_VERSION = defineSearchAttributeKey('ThroughlineJourneyVersion', SearchAttributeType.INT);
export const STEP = defineSearchAttributeKey('ThroughlineStep', SearchAttributeType.KEYWORD);
/** The fingerprint of the definition the instance started with (sdk/definition-fingerprint.ts), for `journeys check`. */
export const DEFINITION = defineSearchAttributeKey('ThroughlineDefinition', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [
  { name: USER_ID.name, kind: 'Keyword' },
  { name: JOURNEY.name, kind: 'Keyword' },
  { name: JOURNEY_VERSION.name, kind: 'Int' },
  { name: STEP.name, kind: 'Keyword' },
  { name: DEFINITION.name, kind: 'Keyword' },
] as const;
