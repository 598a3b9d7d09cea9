/** Customers who have ordered before but not in the last 60 days: who win-back is for. */
import { defineSegment } from '../sdk/segment.js';

export const lapsed = defineSegment({
  id: 'lapsed',
  version: 1,
  description: 'Ordered within the last year, but not in the last 60 days',
  where: {
    all: [
      { event: 'Order Completed', within: '365 days', count: { atLeast: 1 } },
      { event: 'Order Completed', within: '60 days', none: true },
    ],
  },
});
