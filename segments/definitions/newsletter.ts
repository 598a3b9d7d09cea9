/** Who the newsletter goes to: consented to marketing email, not suppressed, not a VIP (they get their own). */
import { defineSegment } from '../sdk/segment.js';

export const newsletter = defineSegment({
  id: 'newsletter',
  version: 1,
  description: 'Consented to newsletter email, email not suppressed, not VIP',
  where: {
    all: [{ trait: 'email', exists: true }, { consent: 'email', category: 'newsletter' }, { not: { suppressed: 'email' } }, { not: { inSegment: 'vip' } }],
  },
});
