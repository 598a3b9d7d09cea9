/**
 * Browse abandonment: a product viewed and not added to the cart within two hours gets one reminder.
 * Works for anonymous visitors too: the email goes out once they are known and have an address.
 * A customer enters at most once a week.
 */
import { defineJourney } from '../sdk/journey.js';
import { send, setting, wait } from '../sdk/steps.js';

export const browseAbandonment = defineJourney({
  id: 'browseAbandonment',
  version: 1,
  description: 'Viewed a product, did not add it: one reminder two hours later',
  entry: { event: 'Product Viewed', reentry: { policy: 'cooldown', cooldown: '7 days' } },
  exitOn: ['Product Added', 'Checkout Started', 'Order Completed'],
  goals: [{ id: 'ordered', event: 'Order Completed', within: '3 days' }],
  settings: { browseWindow: '2 hours' },
  steps: [
    wait('browse-window', setting('browseWindow')),
    send('browse-reminder-email', { channel: 'email', template: 'browse-reminder', category: 'marketing' }),
  ],
});
