/**
 * Win-back: a lapsed customer gets one of two subject lines (45% each) or nothing (a 10% holdout that
 * measures the lift); returning within 14 days is the goal, credited to the email that preceded it.
 */
import { defineJourney } from '../sdk/journey.js';
import { send, setting, split, wait } from '../sdk/steps.js';

export const winBack = defineJourney({
  id: 'winBack',
  version: 1,
  description: 'Lapsed customers: A/B subject test with a 10% holdout, conversions over 14 days',
  entry: { event: 'Customer Lapsed', reentry: { policy: 'cooldown', cooldown: '90 days' } },
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
});
