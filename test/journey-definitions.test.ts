/** Journey definitions: validated at load, every one exported as a workflow, routing derived from them. */
import { describe, expect, it } from 'vitest';
import * as workflows from '../workflows/index.js';
import { journeys } from '../workflows/journeys/index.js';
import { defineJourney, eventsHeardBy } from '../workflows/sdk/journey.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';

const noop = async () => undefined;

describe('journey registry', () => {
  it('exports every registered journey as a workflow named by its id', () => {
    for (const journey of journeys) expect(typeof (workflows as Record<string, unknown>)[journey.id]).toBe('function');
    expect(Object.keys(workflows).sort()).toEqual(journeys.map((j) => j.id).sort());
  });

  it('has unique journey ids', () => {
    expect(new Set(journeys.map((j) => j.id)).size).toBe(journeys.length);
  });

  it('derives what cart abandonment hears from its definition', () => {
    const cart = journeys.find((j) => j.id === 'cartAbandonment')!;
    expect(cart.trigger.event).toBe('Checkout Started');
    expect(eventsHeardBy(cart)).toEqual(['Order Completed']);
  });

  it('addresses an instance by journey and user, with no look-up', () => {
    expect(journeyWorkflowId('cartAbandonment', 'u-1')).toBe('journey/cartAbandonment/u-1');
  });
});

describe('defineJourney', () => {
  const base = { trigger: { event: 'A' }, exitOn: ['B'], listensFor: [], defaults: {}, run: noop };

  it('rejects an id that cannot be a workflow type', () => {
    expect(() => defineJourney({ ...base, id: 'cart-abandonment' })).toThrow(/journey "cart-abandonment": id must be/);
  });

  it('rejects a trigger that is also an exit event', () => {
    expect(() => defineJourney({ ...base, id: 'loop', exitOn: ['A'] })).toThrow(/journey "loop": the trigger event/);
  });
});
