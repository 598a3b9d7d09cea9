/**
 * Birthday greeting: on the customer's birthday at 09:00 in their own time zone (New York's for
 * customers without one), every year, a greeting with a gift code.
 */
import { defineJourney } from '../sdk/journey.js';
import { send } from '../sdk/steps.js';

export const birthdayGreeting = defineJourney({
  id: 'birthdayGreeting',
  version: 1,
  description: 'On the birthday in the profile, at 09:00 local time, every year: a greeting with a gift',
  entry: { date: 'profile.birthday', every: 'year', atLocalTime: '09:00' },
  fallbackTimeZone: 'America/New_York',
  steps: [send('birthday-email', { channel: 'email', template: 'birthday', category: 'marketing' })],
});
