/** Every journey the product runs. Routing and the worker are derived from this list. */
import type { JourneyDefinition } from '../sdk/journey.js';
import { cartAbandonment } from './cart-abandonment.js';

export const journeys: readonly JourneyDefinition[] = [cartAbandonment];
