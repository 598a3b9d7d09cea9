/**
 * Engagement tracking on the real stack: the cart reminder's links and pixel as a recipient's mail
 * client and browser meet them, the SMS's short link, machine opens and scanner clicks told apart, a
 * first click recorded once under concurrent copies, and cart abandonment v2 acting on the click.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { journeyReport } from '../reports/journey-report.js';
import { engagementReport } from '../reports/engagement-report.js';
import { waitUntil } from '../stack/wait-until.js';
import { journeyWorkflowId, stateQuery } from '../workflows/sdk/definitions.js';
import { deliverer } from './support/delivery.js';
import { BROWSER, pixelOf } from './support/mail-client.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

// A query string with an ampersand and percent-encodings, and a fragment: kept exactly.
const CART_URL = 'https://shop.example/cart/7?utm_source=email&note=caf%C3%A9%20au%20lait&size=M#summary';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '8s', retargetFor: '1 hour' } } });
});
afterAll(() => system?.close());

let nextPhone = 300;
async function shopper(name: string) {
  const userId = uniqueId(name);
  const phone = `+1415555${String(nextPhone++).padStart(4, '0')}`;
  await system.identify(userId, { email: `${userId}@example.com`, phone, first_name: name, consent: { sms: true } });
  await system.track(userId, 'Checkout Started', { cart_id: 'c7', value: 12, cart_url: CART_URL });
  await waitUntil(() => system.smtp.messagesTo(`${userId}@example.com`).length === 1, 20_000, `the reminder for ${userId}`);
  return { userId, phone, mail: system.smtp.messagesTo(`${userId}@example.com`)[0]! };
}

const trackedLinks = (html: string) => [...html.matchAll(/href="([^"]*\/t\/c\/[^"]*)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
const visit = (url: string, init: { method?: string; userAgent?: string } = {}) =>
  fetch(url, { method: init.method ?? 'GET', redirect: 'manual', headers: { 'user-agent': init.userAgent ?? BROWSER } });
const engagementsOf = (userId: string) => system.db.collections.engagements.find({ userId }).toArray();

describe('tracked email', () => {
  it('tracks the links of the HTML and text parts without anything personal, and redirects to the URL exactly', async () => {
    const { userId, mail } = await shopper('links');
    const html = String(mail.html);
    expect(html).not.toContain('shop.example/cart');
    expect(html).not.toContain(userId);
    const [link] = trackedLinks(html);
    expect(link).toMatch(new RegExp(`^${system.httpUrl}/t/c/[0-9a-f]{32}/0/[\\w-]{22}$`));
    expect(mail.text).toContain(link);
    // The unsubscribe link is ours and stays as it is.
    expect(html).toContain(`${system.httpUrl}/unsubscribe?`);

    await sleep(2_000); // no person clicks within two seconds of the send
    const response = await visit(link!);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(CART_URL);
    const clicks = await engagementsOf(userId);
    expect(clicks).toMatchObject([{ kind: 'click', first: true, link: 0, stepId: 'cart-reminder-email', journeyId: 'cartAbandonment' }]);

    const forged = link!.replace(/\/[\w-]{22}$/, '/AAAAAAAAAAAAAAAAAAAAAA');
    expect((await visit(forged)).status).toBe(404);
    expect((await visit(link!.replace('/0/', '/1/'))).status).toBe(404);
  });

  it('counts opens once per send, later ones as more, and leaves privacy-proxy prefetches out', async () => {
    const { userId, mail } = await shopper('opens');
    const pixel = pixelOf(String(mail.html))!;
    expect(pixel).toMatch(/\/t\/o\/[0-9a-f]{32}\/[\w-]{22}\.gif$/);
    // Apple Mail Privacy Protection fetches on delivery, as a bare Mozilla/5.0.
    const prefetch = await visit(pixel, { userAgent: 'Mozilla/5.0' });
    expect(prefetch.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await prefetch.arrayBuffer()).subarray(0, 6).toString()).toBe('GIF89a');
    await visit(pixel);
    await visit(pixel);
    const opens = await engagementsOf(userId);
    expect(opens.map((o) => [o.first, o.machine ?? null]).sort()).toEqual([
      [false, null],
      [false, 'privacy-proxy'],
      [true, null],
    ]);
    // A forged pixel still shows as an image, and records nothing.
    const forged = await visit(pixel.replace(/[\w-]{22}\.gif$/, 'AAAAAAAAAAAAAAAAAAAAAA.gif'));
    expect(forged.status).toBe(200);
    expect(await engagementsOf(userId)).toHaveLength(3);
  });

  it('adds no open pixel to transactional mail, and tracks its links unless the template says not to', async () => {
    const userId = uniqueId('receipt');
    await system.identify(userId, { email: `${userId}@example.com` });
    const { deliver, close } = deliverer(system.config, system.db);
    try {
      const key = `receipt-${userId}`;
      const outcome = await deliver({
        channel: 'email', template: 'cart-reminder', category: 'transactional', idempotencyKey: key, journeyId: 'receipts', stepId: 'receipt',
        workflowId: `wf-${userId}`, userId, data: { cart_url: CART_URL }, firstAttemptAt: new Date().toISOString(), version: 1,
      });
      expect(outcome.reason).toBe('sent');
    } finally {
      await close();
    }
    const [mail] = system.smtp.messagesTo(`${userId}@example.com`);
    expect(pixelOf(String(mail!.html))).toBeUndefined();
    expect(trackedLinks(String(mail!.html))).toHaveLength(1);
  });
});

describe('what journeys hear', () => {
  it('skips the SMS for a customer who clicked the email; texts one who did not, and one whose only click was a scanner’s', async () => {
    const [clicker, idle, scanned] = await Promise.all([shopper('clicker'), shopper('idle'), shopper('scanned')]);
    // A security gateway follows the link at once, with HEAD and with its own agent.
    const scannedLink = trackedLinks(String(scanned.mail.html))[0]!;
    expect((await visit(scannedLink, { method: 'HEAD' })).status).toBe(302);
    expect((await visit(scannedLink, { userAgent: 'Mozilla/5.0 (compatible; Proofpoint URL Defense)' })).status).toBe(302);
    // The customer clicks, ten times at once (a double-clicking user, a retrying client).
    await sleep(2_000);
    const link = trackedLinks(String(clicker.mail.html))[0]!;
    const answers = await Promise.all(Array.from({ length: 10 }, () => visit(link)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(302));

    for (const c of [clicker, idle, scanned]) {
      await waitUntil(async () => (await system.reasons(c.userId)).includes('add-to-retargeting:sent'), 30_000, `retargeting for ${c.userId}`);
    }
    expect(await system.reasons(clicker.userId)).toEqual(['cart-reminder-email:sent', 'add-to-retargeting:sent']);
    expect(await system.reasons(idle.userId)).toEqual(['cart-reminder-email:sent', 'cart-reminder-sms:sent', 'add-to-retargeting:sent']);
    expect(await system.reasons(scanned.userId)).toEqual(['cart-reminder-email:sent', 'cart-reminder-sms:sent', 'add-to-retargeting:sent']);
    const clicks = await engagementsOf(clicker.userId);
    expect(clicks.filter((c) => c.first)).toHaveLength(1);
    expect(clicks).toHaveLength(10);
    expect((await engagementsOf(scanned.userId)).map((c) => c.machine).sort()).toEqual(['head-request', 'scanner-agent']);
    const state = await system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', clicker.userId)).query(stateQuery);
    expect(state.steps.map((s) => `${s.stepId}:${s.outcome}`)).toContain('wait-for-order:received:Email Clicked');

    // The SMS's link is a short link to the same URL, and its click is recorded as the SMS's.
    const [sms] = system.twilio.messagesTo(idle.phone);
    const short = /https?:\/\/\S+\/s\/[\w-]{10}/.exec(sms!.body)?.[0];
    expect(short).toBeDefined();
    expect(sms!.body).not.toContain('shop.example');
    await sleep(2_000);
    const followed = await visit(short!);
    expect(followed.headers.get('location')).toBe(CART_URL);
    expect((await engagementsOf(idle.userId)).filter((e) => e.channel === 'sms')).toMatchObject([{ kind: 'click', first: true, stepId: 'cart-reminder-sms' }]);
    expect((await visit(`${system.httpUrl}/s/AAAAAAAAAA`)).status).toBe(404);

    // The funnel counts human engagement only (the rollup schedule runs every two seconds here).
    await waitUntil(async () => (await journeyReport(system.db, 'cartAbandonment', { version: 2 })).steps.some((s) => s.engagement?.clicked === 1 && s.stepId === 'cart-reminder-sms'), 20_000, 'the rollup');
    const funnel = await journeyReport(system.db, 'cartAbandonment', { version: 2 });
    const email = funnel.steps.find((s) => s.stepId === 'cart-reminder-email')!;
    expect(email.engagement).toMatchObject({ clicked: 2, clicks: 11, 'machine-clicks': 2 });

    // The engagement report: five reminders sent in this file, one opened by a person, two clicked.
    const report = await engagementReport(system.db, { journeyId: 'cartAbandonment' });
    expect(report.steps.find((s) => s.stepId === 'cart-reminder-email')).toMatchObject({
      channel: 'email', template: 'cart-reminder', sent: 5, opened: 1, openRate: 0.2, clicked: 2, clickRate: 0.4, opens: 2, clicks: 11, machineOpens: 1, machineClicks: 2,
    });
    const api = await fetch(`${system.httpUrl}/admin/reports/engagement?journey=cartAbandonment`, { headers: { authorization: `Bearer ${system.adminToken}` } });
    expect(await api.json()).toEqual(JSON.parse(JSON.stringify(report)));
  });
});
