/**
 * Review request: three days after an order is delivered, at 10:00 in the customer's time zone, ask
 * for a review. One instance per order; returning one order ends only that order's journey.
 * v2 also tells the reviews platform (a webhook step) so its invitation and ours do not cross.
 */
import { defineJourney, type JourneyInputDefinition } from '../sdk/journey.js';
import { callWebhook, send, waitUntil, type Step } from '../sdk/steps.js';

const base = {
  id: 'postPurchaseReview',
  description: 'Review request at 10:00 local, three days after delivery, per order',
  entry: { event: 'Order Delivered', key: 'order_id' },
  exitOn: ['Order Returned'],
  fallbackTimeZone: 'America/New_York',
} satisfies Partial<JourneyInputDefinition>;

const askForReview: Step[] = [
  waitUntil('three-days-after-delivery', { date: 'entry.delivered_at', offset: '3 days', atLocalTime: '10:00' }),
  send('review-request-email', { channel: 'email', template: 'review-request', category: 'marketing' }),
];

export const postPurchaseReviewV1 = defineJourney({ ...base, version: 1, steps: askForReview });

export const postPurchaseReviewV2 = defineJourney({
  ...base,
  version: 2,
  steps: [
    ...askForReview,
    callWebhook('notify-reviews-platform', {
      endpoint: 'reviews-platform',
      body: {
        type: 'review.requested',
        order_id: '{{ event.order_id }}',
        customer: { email: '{{ profile.email }}', first_name: '{{ profile.first_name | default: "" }}' },
        journey: '{{ journey.id }}',
      },
      timeout: '10s',
    }),
  ],
});
