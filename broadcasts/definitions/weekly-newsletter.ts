/** The weekly newsletter: to the newsletter segment, every Monday at 10:00 in each recipient's zone; an order within three days is its conversion. */
import { defineBroadcast } from '../sdk/broadcast.js';

export const weeklyNewsletter = defineBroadcast({
  id: 'weekly-newsletter',
  description: 'The weekly newsletter, at 10:00 in each recipient’s time zone',
  segment: 'newsletter',
  send: { channel: 'email', template: 'weekly-newsletter', category: 'newsletter' },
  atLocalTime: '10:00',
  throttle: { perMinute: 6_000 },
  recurring: { every: 'week', on: ['monday'] },
  // An order within three days of an issue is that conversion, credited in the reports.
  goals: [{ id: 'order', event: 'Order Completed', within: '3 days' }],
});
