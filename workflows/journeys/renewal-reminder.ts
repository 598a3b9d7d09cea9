/**
 * Renewal reminder: seven days before the subscription's renewal date in the profile, at 10:00 local
 * time. Transactional: the customer is owed the notice whatever their marketing consent. A renewal
 * date moved by the CDP moves the reminder with it.
 */
import { defineJourney } from '../sdk/journey.js';
import { send } from '../sdk/steps.js';

export const renewalReminder = defineJourney({
  id: 'renewalReminder',
  version: 1,
  description: 'Seven days before the renewal date in the profile, at 10:00 local time: the renewal notice',
  entry: { date: 'profile.renewal_date', offset: '-7 days', atLocalTime: '10:00' },
  fallbackTimeZone: 'America/New_York',
  steps: [send('renewal-reminder-email', { channel: 'email', template: 'renewal-reminder', category: 'transactional' })],
});
