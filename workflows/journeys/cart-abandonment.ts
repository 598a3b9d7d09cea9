/**
 * Cart abandonment: an hour after checkout starts, remind by email; if no order follows within a day,
 * text (the delivery path checks phone and SMS consent); then retarget for a week. An order at any
 * point ends the journey at once and takes the customer out of the retargeting audience.
 */
import { defineJourney } from '../sdk/journey.js';

export const cartAbandonment = defineJourney({
  id: 'cartAbandonment',
  trigger: { event: 'Checkout Started' },
  exitOn: ['Order Completed'],
  listensFor: [],
  defaults: {
    reminderDelay: '1 hour',
    orderWindow: '24 hours',
    retargetFor: '7 days',
  },
  async run(journey, settings) {
    await journey.wait('wait-before-reminder', settings.reminderDelay);
    await journey.send('cart-reminder-email', { channel: 'email', template: 'cart-reminder', category: 'marketing' });
    await journey.wait('wait-for-order', settings.orderWindow);
    await journey.send('cart-reminder-sms', { channel: 'sms', template: 'cart-reminder-sms', category: 'marketing' });
    await journey.addToAudience('add-to-retargeting', 'cart-abandoners');
    await journey.wait('retargeting-window', settings.retargetFor);
    await journey.removeFromAudience('retargeting-ended', 'cart-abandoners');
  },
});
