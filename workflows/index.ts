/**
 * The workflow bundle's entry point: one workflow type per journey, named by the journey id.
 * (test/journeys-registry.test.ts checks that every journey in journeys/index.ts is exported here.)
 */
import { cartAbandonment as cartAbandonmentJourney } from './journeys/cart-abandonment.js';
import { journeyWorkflow } from './sdk/run.js';

export const cartAbandonment = journeyWorkflow(cartAbandonmentJourney);
