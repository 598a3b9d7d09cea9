/** The broadcasts in this build. */
import type { BroadcastDefinition } from '../sdk/broadcast.js';
import { weeklyNewsletter } from './weekly-newsletter.js';
import { summerSale } from './summer-sale.js';

export const broadcasts: readonly BroadcastDefinition[] = [weeklyNewsletter, summerSale];

export function broadcastNamed(id: string): BroadcastDefinition {
  const found = broadcasts.find((b) => b.id === id);
  if (!found) throw new Error(`no broadcast "${id}" in this build (${broadcasts.map((b) => b.id).join(', ')})`);
  return found;
}
