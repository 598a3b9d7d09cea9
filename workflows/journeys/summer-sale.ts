/**
 * Summer sale: the customers the `summer-sale` broadcast enters (broadcasts/definitions/), one
 * instance each per occurrence: the announcement, then a last call two days later unless they have
 * ordered. A broadcast that sends one email needs no journey; one that follows up does.
 */
import { defineJourney } from '../sdk/journey.js';
import { send, setting, wait } from '../sdk/steps.js';

export const summerSale = defineJourney({
  id: 'summerSale',
  version: 1,
  description: 'The summer sale broadcast’s recipients: the announcement, and a last call two days later unless they ordered',
  entry: { broadcast: 'summer-sale' },
  exitOn: ['Order Completed'],
  goals: [{ id: 'ordered', event: 'Order Completed', within: '3 days' }],
  settings: { lastCallAfter: '2 days' },
  steps: [
    send('sale-announcement-email', { channel: 'email', template: 'sale-announcement', category: 'promotions' }),
    wait('until-last-call', setting('lastCallAfter')),
    send('sale-last-call-email', { channel: 'email', template: 'sale-last-call', category: 'promotions' }),
  ],
});
