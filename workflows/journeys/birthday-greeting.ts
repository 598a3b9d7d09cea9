/**
 * Birthday greeting: on the customer's birthday at 09:00 in their own time zone (New York's for
 * customers without one), every year, a greeting with a gift code; VIPs (the computed segment, as
 * it stands that morning) get the larger gift.
 */
import { inSegment } from '../sdk/conditions.js';
import { defineJourney } from '../sdk/journey.js';
import { branch, send } from '../sdk/steps.js';

export const birthdayGreeting = defineJourney({
  id: 'birthdayGreeting',
  version: 1,
  description: 'On the birthday in the profile, at 09:00 local time, every year: a greeting with a gift',
  entry: { date: 'profile.birthday', every: 'year', atLocalTime: '09:00' },
  fallbackTimeZone: 'America/New_York',
  steps: [
    branch(
      'vip-gift',
      [{ name: 'vip', when: inSegment('vip'), steps: [send('birthday-vip-email', { channel: 'email', template: 'birthday-vip', category: 'marketing' })] }],
      [send('birthday-email', { channel: 'email', template: 'birthday', category: 'marketing' })],
    ),
  ],
});
