/**
 * The console in a real browser (Debian's chromium through playwright-core) against the real stack:
 * sign-in and roles, a journey's counts moving as events arrive, a customer found by email with the
 * reason for a suppressed send, a suppression added in the page stopping the next send, a segment's
 * size, joins and members with a customer's memberships, a viewer who
 * sees no email address, and a forged CSRF token refused. Screenshots of the main pages go to
 * test-results/console/ (docs/console/ holds the copies the manual shows).
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashPassword } from '../console/passwords.js';
import { projectRoot } from '../stack/paths.js';
import { waitUntil } from '../stack/wait-until.js';
import { BROWSER, pixelOf } from './support/mail-client.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const shots = path.join(projectRoot, 'test-results', 'console');

let system: TestSystem;
let browser: Browser;
beforeAll(async () => {
  const users = [
    { name: 'ann', role: 'operator', password: await hashPassword('ann-password') },
    { name: 'vic', role: 'viewer', password: await hashPassword('vic-password') },
  ];
  system = await startTestSystem({
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1 hour' } },
    env: {
      CONSOLE_USERS: JSON.stringify(users),
      CONSOLE_SECRET: 'a-console-secret-of-at-least-32-characters',
      BROWSER_SOURCES: JSON.stringify([{ writeKey: 'wk_web_console_shop', origins: ['https://shop.example', 'https://*.shop.example'] }]),
    },
  });
  // --no-sandbox: CI runs as root, where chromium's sandbox will not start.
  browser = await chromium.launch({ executablePath: inject('chromiumPath'), args: ['--no-sandbox'] });
  await mkdir(shots, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

async function signIn(name: string, password: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${system.httpUrl}/console`);
  expect(page.url()).toContain('/console/login');
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', password);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL(`${system.httpUrl}/console`);
  return page;
}

/**
 * Clicks a form's button and waits for the page its POST redirects to. The form's URL is the page's
 * own, so waitForURL cannot tell the two apart; a reload or a read before the new page has loaded
 * races the form's navigation ("Not attached to an active page", or the old page's text).
 */
async function submit(page: Page, button: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.click(button)]);
}

async function shopper(name: string) {
  const userId = uniqueId(name);
  await system.identify(userId, { email: `${userId}@example.com`, phone: '+14155550177', consent: { sms: true }, first_name: name });
  return userId;
}

const enteredOnPage = async (page: Page) => Number(await page.locator('tr[data-journey=cartAbandonment][data-version="2"] td.entered').innerText());

it('refuses a wrong password and pages without a session', async () => {
  const page = await browser.newPage();
  await page.goto(`${system.httpUrl}/console/customers`);
  expect(page.url()).toContain('/console/login');
  await page.fill('input[name=name]', 'ann');
  await page.fill('input[name=password]', 'wrong');
  await page.click('button:has-text("Sign in")');
  await expect(page.locator('[role=alert]').innerText()).resolves.toContain('Wrong name or password');
  const cookies = await page.context().cookies();
  expect(cookies.find((c) => c.name === 'throughline_session')).toBeUndefined();
  await page.close();
});

it('shows a journey’s counts change as customers enter, and its page with graph, funnel and experiments', async () => {
  const page = await signIn('ann', 'ann-password');
  const before = await enteredOnPage(page);
  const sessionCookie = (await page.context().cookies()).find((c) => c.name === 'throughline_session')!;
  expect(sessionCookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

  for (const name of ['ada', 'bob']) await system.track(await shopper(name), 'Checkout Started', { cart_id: 'c1', value: 30 });
  // The rollup schedule runs every two seconds here; the page reads what it has folded.
  await waitUntil(async () => {
    await page.reload();
    return (await enteredOnPage(page)) === before + 2;
  }, 30_000, 'the journeys page to count the two new entrants');
  await page.screenshot({ path: path.join(shots, 'journeys.png'), fullPage: true });

  await page.click('a[href="/console/journeys/cartAbandonment?version=2"]');
  await page.waitForSelector('#graph svg'); // mermaid drew the graph from the definition
  await expect(page.locator('#summary .entered').innerText()).resolves.toBe(String(before + 2));
  await waitUntil(async () => {
    await page.reload();
    return /sent [1-9]/.test(await page.locator('#funnel').innerText());
  }, 30_000, 'the reminders in the funnel');
  await page.waitForSelector('#graph svg');
  await page.screenshot({ path: path.join(shots, 'journey.png'), fullPage: true });

  await page.goto(`${system.httpUrl}/console/journeys/winBack`);
  await expect(page.locator('table.experiment').innerText()).resolves.toContain('holdout');
  await page.context().close();
});

it('finds a customer by email, shows why a send was held back, and stops the next send with a suppression added in the page', async () => {
  const page = await signIn('ann', 'ann-password');
  const suppressed = await shopper('sue');
  expect((await system.admin('/admin/suppressions', { userId: suppressed, channel: 'email', reason: 'complaint' })).status).toBe(201);
  await system.track(suppressed, 'Checkout Started', { cart_id: 'c2' });
  await waitUntil(async () => (await system.reasons(suppressed)).includes('cart-reminder-email:suppressed:complaint'), 20_000, 'the suppressed send');

  await page.goto(`${system.httpUrl}/console/customers`);
  await page.fill('input[name=q]', `${suppressed}@example.com`);
  await page.click('button:has-text("Find")');
  await page.click(`#matches a:has-text("${suppressed}")`);
  await expect(page.locator('.run td.reason').allInnerTexts()).resolves.toContain('suppressed:complaint');
  await expect(page.locator('#traits').innerText()).resolves.toContain(`${suppressed}@example.com`);
  await page.screenshot({ path: path.join(shots, 'customer.png'), fullPage: true });

  // An operator suppresses another customer from the page; their next send is held back, and the change is audited.
  const next = await shopper('ned');
  await page.goto(`${system.httpUrl}/console/customers/${next}`);
  await page.selectOption('#add-suppression select[name=channel]', '*');
  await page.fill('#add-suppression input[name=evidence]', 'asked by phone, ticket 812');
  await submit(page, '#add-suppression button');
  expect(page.url()).toBe(`${system.httpUrl}/console/customers/${next}`);
  await expect(page.locator('#suppressions').innerText()).resolves.toContain('console:ann');
  await expect(page.locator('#audit').innerText()).resolves.toMatch(/ann\s+suppression added/);
  await system.track(next, 'Checkout Started', { cart_id: 'c3' });
  await waitUntil(async () => (await system.reasons(next)).length >= 1, 20_000, 'the decision');
  expect((await system.reasons(next))[0]).toBe('cart-reminder-email:suppressed:manual');
  await page.context().close();
});

it('shows a viewer a customer with steps, sends and engagement, with no email address, phone or name, and no way to change anything', async () => {
  const customer = await shopper('vera');
  await system.track(customer, 'Checkout Started', { cart_id: 'c4' });
  // The page as a viewer meets it once the journey has acted: a step recorded, an email sent, opened.
  await waitUntil(async () => (await system.reasons(customer)).includes('cart-reminder-email:sent'), 20_000, 'the reminder sent');
  const mail = system.smtp.messagesTo(`${customer}@example.com`)[0]!;
  const pixel = pixelOf(String(mail.html))!;
  await fetch(pixel, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36' } });
  await waitUntil(async () => (await system.db.collections.engagements.countDocuments({ userId: customer })) > 0, 10_000, 'the open recorded');

  const page = await signIn('vic', 'vic-password');
  await page.goto(`${system.httpUrl}/console/customers?q=${encodeURIComponent(`${customer}@example.com`)}`);
  await page.click('#matches a');
  await page.waitForSelector('#traits');
  const text = await page.locator('main').innerText();
  expect(text).not.toContain(`${customer}@example.com`);
  expect(text).not.toContain('+14155550177');
  expect(text).toMatch(/v\*\*\*@example\.com/);
  expect(await page.locator('#traits tr:has(th:text-is("first_name")) td').innerText()).toBe('v***');
  // Times, steps and outcomes are not personal, and stay as they are.
  const sent = page.locator('.run tr:has(td.reason:text-is("sent"))').first();
  await expect(sent.locator('td').first().innerText()).resolves.toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  await expect(sent.innerText()).resolves.toContain('cart-reminder-email');
  await expect(page.locator('#engagement').innerText()).resolves.toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+email open/);
  await page.screenshot({ path: path.join(shots, 'customer-as-viewer.png'), fullPage: true });
  expect(await page.locator('#add-suppression').count()).toBe(0);
  // A viewer's POST, token and all, is refused.
  const form = await page.request.get(`${system.httpUrl}/console/customers/${customer}`);
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const refused = await page.request.post(`${system.httpUrl}/console/customers/${customer}/suppressions`, { form: { _csrf: token, channel: '*', reason: 'manual' } });
  expect(refused.status()).toBe(403);
  await page.context().close();
});

it('shows a segment with its size, joins per day and a member found by email, and the customer’s memberships with what decided them', async () => {
  const page = await signIn('ann', 'ann-password');
  await page.goto(`${system.httpUrl}/console/segments`);
  const row = page.locator('tr[data-segment=engagedBrowsers][data-version="1"]');
  const before = { members: Number(await row.locator('td.members').innerText()), joined: Number(await row.locator('td.joined').innerText()) };
  const browsing = await shopper('bea');
  for (const sku of ['s1', 's2', 's3']) await system.track(browsing, 'Product Viewed', { sku });
  // The membership changed before the third view was answered: no wait.
  await page.reload();
  await expect(row.locator('td.members').innerText()).resolves.toBe(String(before.members + 1));
  await expect(row.locator('td.joined').innerText()).resolves.toBe(String(before.joined + 1));
  await page.screenshot({ path: path.join(shots, 'segments.png'), fullPage: true });

  await row.locator('a').click();
  await expect(page.locator('#definition .where').innerText()).resolves.toBe('Product Viewed at least 3 times in the last 7 days and not (Order Completed in the last 7 days)');
  const today = new Date().toISOString().slice(0, 10);
  await expect(page.locator(`#per-day tr[data-day="${today}"] td.joined`).innerText()).resolves.toBe(String(before.joined + 1));
  await page.fill('input[name=q]', `${browsing}@example.com`);
  await page.click('button:has-text("Find member")');
  await expect(page.locator('#members td.reason').allInnerTexts()).resolves.toEqual([expect.stringContaining('Product Viewed at least 3 times in the last 7 days')]);
  await page.screenshot({ path: path.join(shots, 'segment.png'), fullPage: true });
  // Someone who is not a member is found as no one.
  await page.fill('input[name=q]', `${await shopper('nora')}@example.com`);
  await page.click('button:has-text("Find member")');
  await expect(page.locator('#members').innerText()).resolves.toContain('No member has exactly that');

  // The customer's page: in the segment now, and the change that put them there, then the order that takes them out.
  await system.track(browsing, 'Order Completed', { revenue: 20 });
  await page.goto(`${system.httpUrl}/console/customers/${browsing}`);
  await expect(page.locator('#segment-memberships').innerText()).resolves.not.toContain('engagedBrowsers@1');
  const changes = await page.locator('#segment-changes tr:has-text("engagedBrowsers@1")').allInnerTexts();
  expect(changes).toEqual([expect.stringMatching(/left\s+engagedBrowsers@1\s+Order Completed in the last 7 days/), expect.stringMatching(/joined\s+engagedBrowsers@1\s+Product Viewed at least 3 times/)]);
  await page.screenshot({ path: path.join(shots, 'customer-segments.png'), fullPage: true });

  // An order that makes them VIP starts the VIP welcome: the page says it entered on that change.
  await system.track(browsing, 'Order Completed', { revenue: 600 });
  const welcome = page.locator('.run:has-text("vipWelcome")');
  await waitUntil(async () => (await page.reload(), (await welcome.count()) === 1), 20_000, 'the VIP welcome on the page');
  await expect(welcome.locator('.entered-on').innerText()).resolves.toBe(`on joining segment vip (change vip@1|${browsing}|1)`);
  await expect(page.locator('#segment-changes tr:has-text("vip@1") td.journeys').innerText()).resolves.toBe('vipWelcome: entered (or reached the instance running)');
  await page.screenshot({ path: path.join(shots, 'customer-segment-entry.png'), fullPage: true });
  await page.context().close();
});

it('refuses a change with a forged or missing CSRF token, and records nothing', async () => {
  const customer = await shopper('cara');
  const page = await signIn('ann', 'ann-password');
  const forms: Array<Record<string, string>> = [{ _csrf: 'forged-token', channel: '*', reason: 'manual' }, { channel: '*', reason: 'manual' }];
  for (const form of forms) {
    const response = await page.request.post(`${system.httpUrl}/console/customers/${customer}/suppressions`, { form });
    expect(response.status()).toBe(403);
  }
  expect(await system.db.collections.suppressions.countDocuments({ userId: customer })).toBe(0);
  expect(await system.db.collections.auditLog.countDocuments({ userId: customer })).toBe(0);
  await page.context().close();
});

it('searches the ledger, and settles an unknown outcome from the queue', async () => {
  const page = await signIn('ann', 'ann-password');
  await page.goto(`${system.httpUrl}/console/messages?outcome=suppressed&channel=email`);
  const found = await page.locator('#messages td.reason').allInnerTexts();
  expect(found.length).toBeGreaterThan(0);
  expect(found.every((reason) => reason.startsWith('suppressed:'))).toBe(true);

  // A send whose attempt died after the provider may have had it, as the delivery path records one.
  const customer = await shopper('una');
  const key = `journey/cartAbandonment/${customer}/run/cart-reminder-email#1`;
  await system.db.collections.ledger.insertOne({
    _id: key, userId: customer, journeyId: 'cartAbandonment', stepId: 'cart-reminder-email', workflowId: `journey/cartAbandonment/${customer}`,
    channel: 'email', subject: 'cart-reminder', category: 'marketing', status: 'done', delivered: false, reason: 'unknown-outcome', at: new Date(),
    detail: 'an earlier attempt died while the provider may have had the message; not sent again',
  });
  await page.goto(`${system.httpUrl}/console/messages`);
  await page.screenshot({ path: path.join(shots, 'messages.png'), fullPage: true });
  const row = page.locator('#unknown tr', { hasText: customer });
  await row.locator('button[value=sent]').click();
  await page.waitForURL(`${system.httpUrl}/console/messages`);
  expect(await page.locator('#unknown tr', { hasText: customer }).count()).toBe(0);
  expect(await system.db.collections.ledger.findOne({ _id: key })).toMatchObject({ reason: 'sent', resolution: { as: 'sent', by: 'console:ann' } });
  expect(await system.db.collections.auditLog.findOne({ userId: customer })).toMatchObject({ by: 'ann', action: 'unknown outcome settled as sent' });
  await page.context().close();
});

it('renders a template for a customer, email and SMS, and sends a test to the address typed', async () => {
  const customer = await shopper('tess');
  const page = await signIn('ann', 'ann-password');
  const event = JSON.stringify({ cart_url: 'https://shop.example/cart/9', value: 19, products: [{ name: 'Mug' }] });
  await page.goto(`${system.httpUrl}/console/templates?template=cart-reminder&user=${customer}&event=${encodeURIComponent(event)}`);
  await expect(page.locator('#subject').innerText()).resolves.toBe('You left 1 item(s) in your cart');
  const email = page.frameLocator('iframe');
  await expect(email.locator('body').innerText()).resolves.toContain('Mug');
  await page.screenshot({ path: path.join(shots, 'templates.png'), fullPage: true });

  await page.fill('#test-send input[name=to]', 'qa@example.com');
  await page.click('#test-send button');
  await expect(page.locator('[role=status]').innerText()).resolves.toContain('Test sent to qa@example.com');
  await waitUntil(() => system.smtp.messagesTo('qa@example.com').length === 1, 20_000, 'the test email');
  expect(system.smtp.messagesTo('qa@example.com')[0]!.subject).toBe('[test] You left 1 item(s) in your cart');

  await page.goto(`${system.httpUrl}/console/templates?template=cart-reminder-sms&user=${customer}`);
  await expect(page.locator('#segments').innerText()).resolves.toMatch(/^\d segment\(s\), GSM-7/);
  await expect(page.locator('#sms-body').innerText()).resolves.toContain('Your cart is still waiting, tess.');
  await page.goto(`${system.httpUrl}/console/templates?template=cart-reminder&user=${customer}&event=not-json`);
  await expect(page.locator('[role=alert]').innerText()).resolves.toContain('a JSON object');
  await page.context().close();
});

it('shows each source, with the lines a web page pastes for a browser source and no server key whole', async () => {
  const page = await signIn('vic', 'vic-password');
  await page.click('header a:has-text("Sources")');
  const card = page.locator('.browser-source[data-key=wk_web_console_shop]');
  await expect(card.innerText()).resolves.toContain('https://*.shop.example');
  await expect(card.locator('pre.analytics-js').innerText()).resolves.toBe(`AnalyticsBrowser.load({ writeKey: 'wk_web_console_shop', cdnURL: '${system.httpUrl}' })  // @segment/analytics-next`);
  await expect(card.locator('pre.rudderstack').innerText()).resolves.toContain(`rudderanalytics.load('wk_web_console_shop', '${system.httpUrl}', { configUrl: '${system.httpUrl}' })`);
  const serverKeys = await page.locator('#server-sources').innerText();
  expect(serverKeys).toContain(system.writeKey.slice(0, 6));
  expect(serverKeys).not.toContain(system.writeKey);
  await page.screenshot({ path: path.join(shots, 'sources.png'), fullPage: true });
  await page.close();
});

it('an operator starts next week’s newsletter from its page, pauses, resumes and cancels it; a viewer sees it with no controls', async () => {
  const page = await signIn('ann', 'ann-password');
  await page.click('header a:has-text("Broadcasts")');
  await page.click('#broadcasts a:has-text("weekly-newsletter")');
  const nextWeek = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  await page.fill('#start input[name=occurrence]', nextWeek);
  await page.click('#start button');
  await page.waitForURL(/occurrence=/);
  // Waiting for 10:00 on the earliest clock on that day, before it takes its audience.
  await expect(page.locator('#status .state').innerText()).resolves.toBe('scheduled');
  await expect(page.locator('#status .next-at').innerText()).resolves.toBe(new Date(`${nextWeek}T10:00:00+14:00`).toISOString());
  await submit(page, '#controls button:has-text("Pause")');
  await expect(page.locator('#status .state').innerText()).resolves.toBe('paused');
  await submit(page, '#controls button:has-text("Resume")');
  await expect(page.locator('#status .state').innerText()).resolves.toBe('scheduled');
  await page.screenshot({ path: path.join(shots, 'broadcast.png'), fullPage: true });
  await submit(page, '#controls button:has-text("Cancel")');
  await waitUntil(async () => (await page.reload(), (await page.locator('#status .state').innerText()) === 'cancelled'), 20_000, 'the occurrence cancelled');
  expect(await page.locator('#controls').count()).toBe(0);
  await page.click('header a:has-text("Broadcasts")');
  await expect(page.locator('#occurrences').innerText()).resolves.toContain(nextWeek);
  await page.context().close();

  const viewer = await signIn('vic', 'vic-password');
  await viewer.goto(`${system.httpUrl}/console/broadcasts/weekly-newsletter?occurrence=${nextWeek}`);
  await expect(viewer.locator('#status .state').innerText()).resolves.toBe('cancelled');
  expect(await viewer.locator('#start, #controls').count()).toBe(0);
  await viewer.context().close();
});

it('a newsletter that went out shows its results: how many were sent, opened and clicked, and the order credited to it', async () => {
  // A reader in the zone where it is 10:xx now, so today's occurrence (10:00 in each reader's zone)
  // sends to her at once; at least two minutes of the hour left, so she is not an hour late.
  const leftOfHour = 3_600_000 - (Date.now() % 3_600_000);
  if (leftOfHour < 120_000) await new Promise((resolve) => setTimeout(resolve, leftOfHour + 1_000));
  let offset = 10 - new Date().getUTCHours();
  if (offset < -12) offset += 24;
  const zone = offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`; // Etc/GMT's signs are the other way round
  const occurrence = new Date(Date.now() + offset * 3_600_000).toISOString().slice(0, 10);
  const reader = uniqueId('reader');
  await system.identify(reader, { email: `${reader}@example.com`, timezone: zone, consent: { categories: { newsletter: { email: true } } } });
  await waitUntil(async () => (await system.db.collections.segmentMembers.countDocuments({ userId: reader })) > 0, 10_000, 'the reader in the newsletter segment');

  const page = await signIn('ann', 'ann-password');
  await page.goto(`${system.httpUrl}/console/broadcasts/weekly-newsletter`);
  await page.fill('#start input[name=occurrence]', occurrence);
  await page.click('#start button');
  await page.waitForURL(/occurrence=/);
  await waitUntil(() => system.smtp.messagesTo(`${reader}@example.com`).length === 1, 30_000, 'the newsletter sent');
  // She opens it, past the first seconds in which only machines open.
  const pixel = pixelOf(String(system.smtp.messagesTo(`${reader}@example.com`)[0]!.html));
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  expect((await fetch(pixel!, { headers: { 'user-agent': BROWSER } })).status).toBe(200);
  await waitUntil(async () => (await page.reload(), (await page.locator('#results .opened').count()) === 1 && (await page.locator('#results .opened').innerText()) === '1'), 30_000, 'the open on the page');
  // Whoever else of this file's customers is in the segment and at 10:xx now was sent it too.
  const sent = await system.db.collections.ledger.countDocuments({ journeyId: 'broadcast:weekly-newsletter', stepId: occurrence, reason: 'sent' });
  expect(sent).toBeGreaterThanOrEqual(1);
  await expect(page.locator('#results .sent').innerText()).resolves.toBe(String(sent));
  await expect(page.locator('#results .clicked').innerText()).resolves.toBe('0');
  await expect(page.locator('#results').innerText()).resolves.toContain(`${(100 / sent).toFixed(1)}%`);
  // She orders: the newsletter's goal, credited to this issue, the one message in her window.
  await system.track(reader, 'Order Completed', { revenue: 25 });
  await waitUntil(async () => (await page.reload(), (await page.locator('#conversions .credited').innerText()) === '1'), 30_000, 'her order credited on the page');
  await expect(page.locator('#conversions .revenue').innerText()).resolves.toBe('25');
  await expect(page.locator('#conversions').innerText()).resolves.toContain('Order Completed within 3 days');
  await page.screenshot({ path: path.join(shots, 'broadcast-results.png'), fullPage: true });
  await page.context().close();
});
