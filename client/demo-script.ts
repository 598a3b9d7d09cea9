/**
 * The demo's scripted CDP event stream: four customers through cart abandonment, one buying after the
 * email, one never buying, one unsubscribed, one hitting the frequency cap. `npm run demo` plays it
 * on the embedded stack; test/demo.test.ts plays it in CI and checks `explain` for each customer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalSystem } from '../stack/local-system.js';
import { waitUntil } from '../stack/wait-until.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { postSegment } from './segment-http.js';

export const DEMO_SETTINGS = { cartAbandonment: { reminderDelay: '3s', orderWindow: '5s', retargetFor: '5s' } };
export const DEMO_CAP = '2/24h';

/** The demo's four customers; `run` keeps each run's ids apart in a persistent data folder. */
export function demoCustomers(run: string) {
  return {
    ana: { userId: `ana-${run}`, story: 'buys after the reminder email' },
    ben: { userId: `ben-${run}`, story: 'never buys: email, then SMS, then retargeting' },
    cleo: { userId: `cleo-${run}`, story: 'unsubscribed from email, no SMS consent' },
    dan: { userId: `dan-${run}`, story: `abandons twice in a day and hits the cap (${DEMO_CAP})` },
  };
}

type Customers = ReturnType<typeof demoCustomers>;

function cdp(system: LocalSystem, print: (line: string) => void) {
  const post = async (path: string, body: Record<string, unknown>) => {
    const response = await postSegment(system.httpUrl, system.writeKey, path, { timestamp: new Date().toISOString(), ...body });
    print(`  POST ${path.padEnd(12)} ${String(body.event ?? (body.traits ? 'traits' : '')).padEnd(18)} ${String(body.userId ?? '-').padEnd(16)} -> ${response.status} ${JSON.stringify(response.body)}`);
    return response;
  };
  return {
    identify: (userId: string, traits: Record<string, unknown>) => post('/v1/identify', { userId, traits }),
    track: (userId: string, event: string, properties: Record<string, unknown> = {}, messageId?: string) =>
      post('/v1/track', { userId, event, properties, ...(messageId ? { messageId } : {}) }),
    raw: post,
  };
}

const cart = (id: string) => ({ cart_id: id, value: 89.9, currency: 'EUR', products: [{ name: 'Linen throw' }, { name: 'Oak tray' }] });

async function journeyEnded(system: LocalSystem, userId: string): Promise<boolean> {
  const description = await system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId)).describe();
  return description.status.name !== 'RUNNING';
}

/** Plays the demo's CDP event stream over the HTTP API and waits until every journey has ended. */
export async function playDemoStream(system: LocalSystem, customers: Customers, print: (line: string) => void): Promise<void> {
  const { identify, track, raw } = cdp(system, print);
  const { ana, ben, cleo, dan } = customers;
  await identify(ana.userId, { email: 'ana@example.com', phone: '+14155550101', first_name: 'Ana', consent: { sms: true } });
  await identify(ben.userId, { email: 'ben@example.com', phone: '+14155550102', first_name: 'Ben', consent: { sms: true } });
  await identify(cleo.userId, { email: 'cleo@example.com', phone: '+14155550103', first_name: 'Cleo' });
  await identify(dan.userId, { email: 'dan@example.com', phone: '+14155550104', first_name: 'Dan', consent: { sms: true } });
  // Cleo clicked "unsubscribe" in an earlier newsletter.
  const unsubscribed = await system.admin('/admin/suppressions', { userId: cleo.userId, channel: 'email', reason: 'unsubscribe', source: 'newsletter link' });
  if (unsubscribed.status !== 201) throw new Error(`the admin API refused Cleo's suppression: ${unsubscribed.status}`);
  print(`  POST /admin/suppressions  ${cleo.userId}: email unsubscribe -> ${unsubscribed.status}`);

  await track(ana.userId, 'Checkout Started', cart('ana-1'), `checkout-${ana.userId}`);
  await track(ana.userId, 'Checkout Started', cart('ana-1'), `checkout-${ana.userId}`); // a CDP retry: same messageId
  await track(ben.userId, 'Checkout Started', cart('ben-1'));
  await track(cleo.userId, 'Checkout Started', cart('cleo-1'));
  await track(dan.userId, 'Checkout Started', cart('dan-1'));
  await raw('/v1/track', { userId: ben.userId, properties: { note: 'malformed: no event name' } });

  await waitUntil(() => system.smtp.messagesTo('ana@example.com').length > 0, 60_000, "Ana's reminder");
  await sleep(500);
  await track(ana.userId, 'Order Completed', { order_id: 'A-1001', value: 89.9 });

  await waitUntil(() => system.audiences.members('cart-abandoners').includes(dan.userId), 60_000, 'Dan in the audience');
  await track(dan.userId, 'Order Completed', { order_id: 'D-2001', value: 89.9 });
  await waitUntil(() => journeyEnded(system, dan.userId), 60_000, "Dan's first journey to end");
  await track(dan.userId, 'Checkout Started', cart('dan-2'));

  const all = Object.values(customers).map((c) => c.userId);
  await waitUntil(async () => (await Promise.all(all.map((u) => journeyEnded(system, u)))).every(Boolean), 120_000, 'every journey to end');
}
