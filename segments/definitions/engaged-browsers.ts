/** Customers looking hard but not buying: three product views in a week and no order in it. */
import { defineSegment } from '../sdk/segment.js';

export const engagedBrowsers = defineSegment({
  id: 'engagedBrowsers',
  version: 1,
  description: 'Viewed products at least 3 times in 7 days without ordering in those 7 days',
  where: {
    all: [
      { event: 'Product Viewed', within: '7 days', count: { atLeast: 3 } },
      { not: { event: 'Order Completed', within: '7 days' } },
    ],
  },
});
