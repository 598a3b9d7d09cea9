/**
 * Email and SMS acting alone, the way most teams run them today: each its own journey on the same
 * trigger, neither knowing what the other sent or whether the customer clicked. They run only in the
 * `independent` arm of the cart-orchestration experiment (experiments.ts), as the baseline the
 * orchestrated cart journey is measured against.
 */
import { defineJourney } from '../sdk/journey.js';
import { send, setting, wait, type Step } from '../sdk/steps.js';

/**
 * One message, alone: the cart journey's trigger, exit and goal (so both arms are measured alike),
 * a wait, the send, then open for the goal's window as the cart journey is, so an order counts alike.
 */
function aloneJourney(options: { id: string; description: string; delay: { step: string; setting: string; duration: string }; message: Step }) {
  const { delay } = options;
  return defineJourney({
    id: options.id,
    version: 1,
    description: options.description,
    entry: { event: 'Checkout Started' },
    exitOn: ['Order Completed'],
    goals: [{ id: 'ordered', event: 'Order Completed', within: '7 days' }],
    settings: { [delay.setting]: delay.duration, attributionWindow: '7 days' },
    steps: [wait(delay.step, setting(delay.setting)), options.message, wait('attribution-window', setting('attributionWindow'))],
  });
}

export const cartEmailAlone = aloneJourney({
  id: 'cartEmailAlone',
  description: 'Checkout started, no order: an email after an hour, whatever else the customer gets',
  delay: { step: 'wait-before-email', setting: 'reminderDelay', duration: '1 hour' },
  message: send('cart-email', { channel: 'email', template: 'cart-reminder', category: 'marketing' }),
});

export const cartSmsAlone = aloneJourney({
  id: 'cartSmsAlone',
  description: 'Checkout started, no order: a text after a day, whatever else the customer gets',
  delay: { step: 'wait-before-sms', setting: 'smsDelay', duration: '25 hours' },
  message: send('cart-sms', { channel: 'sms', template: 'cart-reminder-sms', category: 'marketing' }),
});
