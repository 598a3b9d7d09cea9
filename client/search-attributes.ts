/**
 * Custom search attributes Throughline sets on journey workflows, so that "every journey of user X"
 * is one visibility query. The embedded stack registers them at start; on your own Temporal run
 * `temporal operator search-attribute create --name ThroughlineUserId --type Keyword` once.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const USER_ID = defineSearchAttributeKey('ThroughlineUserId', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [{ name: USER_ID.name, kind: 'Keyword' }] as const;
