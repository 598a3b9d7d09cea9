/** The weekly newsletter: to the newsletter segment, every Monday at 10:00 in each recipient's zone. */
import { defineBroadcast } from '../sdk/broadcast.js';

export const weeklyNewsletter = defineBroadcast({
  id: 'weekly-newsletter',
  description: 'The weekly newsletter, at 10:00 in each recipient’s time zone',
  segment: 'newsletter',
  send: { channel: 'email', template: 'weekly-newsletter', category: 'newsletter' },
  atLocalTime: '10:00',
  throttle: { perMinute: 6_000 },
  recurring: { every: 'week', on: ['monday'] },
});
