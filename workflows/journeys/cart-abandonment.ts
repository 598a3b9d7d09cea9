/**
 * Cart abandonment: an hour after checkout starts, remind by email; if no order follows within a day,
 * text (the delivery path checks phone and SMS consent); then retarget for a week. An order at any
 * point ends the journey at once and takes the customer out of the retargeting audience.
 */
import { defineJourney } from '../sdk/journey.js';
import { addToAudience, removeFromAudience, send, setting, wait } from '../sdk/steps.js';

export const cartAbandonment = defineJourney({
  id: 'cartAbandonment',
  version: 1,
  description: 'Checkout started, no order: email after an hour, SMS after a day, then retarget for a week',
  entry: { event: 'Checkout Started' },
  // A customer with an open cart is closest to buying: this journey gets a cap's last slot first.
  priority: 10,
  exitOn: ['Order Completed'],
  goals: [{ id: 'ordered', event: 'Order Completed', within: '7 days' }],
  settings: { reminderDelay: '1 hour', orderWindow: '24 hours', retargetFor: '7 days' },
  steps: [
    wait('wait-before-reminder', setting('reminderDelay')),
    send('cart-reminder-email', { channel: 'email', template: 'cart-reminder', category: 'marketing' }),
    wait('wait-for-order', setting('orderWindow')),
    send('cart-reminder-sms', { channel: 'sms', template: 'cart-reminder-sms', category: 'marketing' }),
    addToAudience('add-to-retargeting', 'cart-abandoners'),
    wait('retargeting-window', setting('retargetFor')),
    removeFromAudience('retargeting-ended', 'cart-abandoners'),
  ],
});
