/**
 * Win-back: a lapsed customer gets one of two subject lines (45% each) or nothing (a 10% holdout that
 * measures the lift); returning within 14 days is the goal, credited to the email that preceded it.
 * v1 waited for an outside `Customer Lapsed` event, which no CDP sends; v2 enters when the customer
 * joins the computed `lapsed` segment (segments/definitions/lapsed.ts: no order in 60 days), at the
 * moment the 60 days run out. v1 stays for the customers in flight.
 */
import { defineJourney, type JourneyInputDefinition } from '../sdk/journey.js';
import { send, setting, split, wait } from '../sdk/steps.js';

const base = {
  id: 'winBack',
  exitOn: ['Order Completed'],
  goals: [{ id: 'returned', event: 'Order Completed', within: '14 days' }],
  settings: { attributionWindow: '14 days' },
  steps: [
    split('subject-test', [
      { name: 'A', percent: 45, steps: [send('winback-email-a', { channel: 'email', template: 'winback-a', category: 'marketing' })] },
      { name: 'B', percent: 45, steps: [send('winback-email-b', { channel: 'email', template: 'winback-b', category: 'marketing' })] },
      { name: 'holdout', percent: 10, steps: [] },
    ]),
    wait('attribution-window', setting('attributionWindow')),
  ],
} satisfies Partial<JourneyInputDefinition>;

export const winBackV1 = defineJourney({
  ...base,
  version: 1,
  description: 'Lapsed customers: A/B subject test with a 10% holdout, conversions over 14 days',
  entry: { event: 'Customer Lapsed', reentry: { policy: 'cooldown', cooldown: '90 days' } },
});

export const winBackV2 = defineJourney({
  ...base,
  version: 2,
  description: 'Customers who join the lapsed segment: A/B subject test with a 10% holdout, conversions over 14 days',
  entry: { segment: 'lapsed', on: 'join', reentry: { policy: 'cooldown', cooldown: '90 days' } },
});
