/**
 * Review request: three days after an order is delivered, at 10:00 in the customer's time zone, ask
 * for a review. One instance per order; returning one order ends only that order's journey.
 */
import { defineJourney } from '../sdk/journey.js';
import { send, waitUntil } from '../sdk/steps.js';

export const postPurchaseReview = defineJourney({
  id: 'postPurchaseReview',
  version: 1,
  description: 'Review request at 10:00 local, three days after delivery, per order',
  entry: { event: 'Order Delivered', key: 'order_id' },
  exitOn: ['Order Returned'],
  fallbackTimeZone: 'America/New_York',
  steps: [
    waitUntil('three-days-after-delivery', { date: 'entry.delivered_at', offset: '3 days', atLocalTime: '10:00' }),
    send('review-request-email', { channel: 'email', template: 'review-request', category: 'marketing' }),
  ],
});
