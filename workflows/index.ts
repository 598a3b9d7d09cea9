/** The workflow bundle's entry point: one interpreter workflow runs every journey and version. */
import { journeyVersions } from './journeys/index.js';
import { journeyWorkflow } from './sdk/interpreter.js';

export const journey = journeyWorkflow(journeyVersions);
