/**
 * VIP welcome: the moment a customer joins the computed `vip` segment (segments/definitions/vip.ts),
 * a thank-you with their perks; at most once a year, however often they drop out and come back.
 */
import { defineJourney } from '../sdk/journey.js';
import { send } from '../sdk/steps.js';

export const vipWelcome = defineJourney({
  id: 'vipWelcome',
  version: 1,
  description: 'Customers who join the VIP segment: a thank-you with their perks, once a year at most',
  entry: { segment: 'vip', on: 'join', reentry: { policy: 'cooldown', cooldown: '365 days' } },
  steps: [send('vip-welcome-email', { channel: 'email', template: 'vip-welcome', category: 'marketing' })],
});
