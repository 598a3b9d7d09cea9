/**
 * Cart abandonment: an hour after checkout starts, remind by email; if no order follows within a day,
 * text (the delivery path checks phone and SMS consent); then retarget for a week. An order at any
 * point ends the journey at once and takes the customer out of the retargeting audience.
 * Version 2 texts only a customer who did not click the email within that day: one who clicked has
 * seen the cart, and a text on top is the nagging that costs unsubscribes.
 */
import { all, eq } from '../sdk/conditions.js';
import { defineJourney } from '../sdk/journey.js';
import { addToAudience, removeFromAudience, send, setting, wait, waitForEvent } from '../sdk/steps.js';

export const cartAbandonmentV1 = defineJourney({
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

const reminderEmail = send('cart-reminder-email', { channel: 'email', template: 'cart-reminder', category: 'marketing' });

export const cartAbandonmentV2 = defineJourney({
  ...cartAbandonmentV1,
  version: 2,
  description: 'Checkout started, no order: email after an hour, SMS after a day unless the email was clicked, then retarget for a week',
  steps: [
    wait('wait-before-reminder', setting('reminderDelay')),
    reminderEmail,
    waitForEvent('wait-for-order', {
      // The click engagement tracking reports for this journey's email (see server/engagement-routes.ts).
      event: 'Email Clicked',
      where: all(eq('event.journey_id', 'cartAbandonment'), eq('event.step_id', reminderEmail.id)),
      timeout: setting('orderWindow'),
      onTimeout: [send('cart-reminder-sms', { channel: 'sms', template: 'cart-reminder-sms', category: 'marketing' })],
    }),
    addToAudience('add-to-retargeting', 'cart-abandoners'),
    wait('retargeting-window', setting('retargetFor')),
    removeFromAudience('retargeting-ended', 'cart-abandoners'),
  ],
});
