/**
 * Email and SMS acting alone, the way most teams run them today: each its own journey on the same
 * trigger, neither knowing what the other sent or whether the customer clicked. They run only in the
 * `independent` arm of the cart-orchestration experiment (experiments.ts), as the baseline the
 * orchestrated cart journey is measured against.
 */
import { defineJourney } from '../sdk/journey.js';
import { send, setting, wait } from '../sdk/steps.js';

/** Same trigger, exit and goal as the cart journey, so the arms are measured alike. */
const likeTheCartJourney = () => ({
  entry: { event: 'Checkout Started' },
  exitOn: ['Order Completed'],
  goals: [{ id: 'ordered', event: 'Order Completed', within: '7 days' }],
});

export const cartEmailAlone = defineJourney({
  ...likeTheCartJourney(),
  id: 'cartEmailAlone',
  version: 1,
  description: 'Checkout started, no order: an email after an hour, whatever else the customer gets',
  settings: { reminderDelay: '1 hour', attributionWindow: '7 days' },
  steps: [
    wait('wait-before-email', setting('reminderDelay')),
    send('cart-email', { channel: 'email', template: 'cart-reminder', category: 'marketing' }),
    // Open for the goal's window, as the cart journey is, so an order is counted in both arms alike.
    wait('attribution-window', setting('attributionWindow')),
  ],
});

export const cartSmsAlone = defineJourney({
  ...likeTheCartJourney(),
  id: 'cartSmsAlone',
  version: 1,
  description: 'Checkout started, no order: a text after a day, whatever else the customer gets',
  settings: { smsDelay: '25 hours', attributionWindow: '7 days' },
  steps: [
    wait('wait-before-sms', setting('smsDelay')),
    send('cart-sms', { channel: 'sms', template: 'cart-reminder-sms', category: 'marketing' }),
    wait('attribution-window', setting('attributionWindow')),
  ],
});
