/**
 * The workflow bundle's entry point: one interpreter workflow runs every journey and version; `cleanup`
 * is the maintenance schedule's.
 */
import { journeyVersions } from './journeys/index.js';
import { journeyWorkflow } from './sdk/interpreter.js';

export const journey = journeyWorkflow(journeyVersions);

export { audienceSync, cleanup } from './maintenance.js';
