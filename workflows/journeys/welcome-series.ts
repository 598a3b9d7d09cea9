/**
 * Welcome series. v1: a welcome email, then two days later either a thank-you for referred customers
 * or getting-started tips, by signup source. v2 adds a first-order nudge for customers who have not
 * ordered within a week. Customers who entered on v1 finish v1; new sign-ups get v2.
 */
import { eq } from '../sdk/conditions.js';
import { defineJourney, type JourneyInputDefinition } from '../sdk/journey.js';
import { branch, send, setting, updateProfile, wait, waitForEvent, type Step } from '../sdk/steps.js';

const common = {
  id: 'welcomeSeries',
  description: 'Welcome email, then tips or a referral thank-you by signup source',
  entry: { event: 'Signed Up', reentry: { policy: 'never' } },
  goals: [{ id: 'first-order', event: 'Order Completed', within: '14 days' }],
} satisfies Partial<JourneyInputDefinition>;

const welcomeAndFollowUp: Step[] = [
  send('welcome-email', { channel: 'email', template: 'welcome', category: 'marketing' }),
  wait('wait-before-follow-up', setting('followUpDelay')),
  branch(
    'by-signup-source',
    [{ name: 'referral', when: eq('profile.signup_source', 'referral'), steps: [send('referral-thanks-email', { channel: 'email', template: 'welcome-referral', category: 'marketing' })] }],
    [send('tips-email', { channel: 'email', template: 'welcome-tips', category: 'marketing' })],
  ),
];

export const welcomeSeriesV1 = defineJourney({
  ...common,
  version: 1,
  settings: { followUpDelay: '2 days' },
  steps: welcomeAndFollowUp,
});

export const welcomeSeriesV2 = defineJourney({
  ...common,
  version: 2,
  settings: { followUpDelay: '2 days', firstOrderWindow: '7 days' },
  steps: [
    ...welcomeAndFollowUp,
    waitForEvent('wait-for-first-order', {
      event: 'Order Completed',
      timeout: setting('firstOrderWindow'),
      onTimeout: [send('first-order-nudge-email', { channel: 'email', template: 'welcome-first-order', category: 'marketing' })],
    }),
    updateProfile('mark-onboarded', { onboarded: true }),
  ],
});
