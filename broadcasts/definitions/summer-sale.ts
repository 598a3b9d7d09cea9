/** The summer sale: the newsletter segment into the summerSale journey (an announcement and a last call), at 10:00 in each recipient's zone. */
import { defineBroadcast } from '../sdk/broadcast.js';

export const summerSale = defineBroadcast({
  id: 'summer-sale',
  description: 'The summer sale, announced at 10:00 in each recipient’s time zone, with a last call two days later',
  segment: 'newsletter',
  send: { journey: 'summerSale' },
  atLocalTime: '10:00',
  throttle: { perMinute: 6_000 },
});
