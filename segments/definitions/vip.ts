/** Customers worth more than 500 over a year, or marked VIP by the CDP. */
import { defineSegment } from '../sdk/segment.js';

export const vip = defineSegment({
  id: 'vip',
  version: 1,
  description: 'Revenue over 500 in the last 365 days, or the vip trait set by the CDP',
  where: {
    any: [{ event: 'Order Completed', within: '365 days', sum: { property: 'revenue', gt: 500 } }, { trait: 'vip', equals: true }],
  },
});
