/**
 * Browser sources as a shop's web page meets them: Segment's analytics.js and RudderStack's
 * JavaScript SDK, the real bundles from npm, unchanged, in chromium on a page of another origin,
 * their settings read from this server. Then what a public key must not do: send from an origin its
 * source does not list, stand in for a server key, reach anything but events, or send without limit.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import getPort from 'get-port';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../stack/paths.js';
import { waitUntil } from '../stack/wait-until.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const BUNDLES: Record<string, string> = {
  '/analytics.js': 'node_modules/@segment/analytics-next/dist/umd/index.js',
  '/rudder.js': 'node_modules/@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js',
};

/** A shop's page server: the SDK bundles and an empty page, on an origin of its own. */
async function startShop(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (request, response) => {
    const bundle = BUNDLES[request.url ?? ''];
    if (bundle) {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      return response.end(await readFile(`${projectRoot}/${bundle}`));
    }
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><html><head><title>Shop</title><script src="/analytics.js"></script><script src="/rudder.js"></script></head><body>shop</body></html>');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const browserKey = `wk_web_${uniqueId('k').replace(/-/g, '')}`;
const limitedKey = `wk_web_${uniqueId('l').replace(/-/g, '')}`;
let system: TestSystem;
let shop: Awaited<ReturnType<typeof startShop>>;
let elsewhere: Awaited<ReturnType<typeof startShop>>;
let browser: Browser;

beforeAll(async () => {
  const [shopPort, otherPort] = [await getPort(), await getPort()];
  shop = await startShop(shopPort);
  elsewhere = await startShop(otherPort);
  system = await startTestSystem({
    journeySettings: { browseAbandonment: { browseWindow: '2s' }, cartAbandonment: { reminderDelay: '2s', orderWindow: '1h' } },
    env: {
      BROWSER_SOURCES: JSON.stringify([
        { writeKey: browserKey, origins: [shop.url] },
        { writeKey: limitedKey, origins: ['http://*.shop.test'] },
      ]),
      BROWSER_IP_RATE_LIMIT: '40',
      BROWSER_KEY_RATE_LIMIT: '60',
      // Requests from 127.0.0.2 come through "the load balancer"; from 127.0.0.1, straight in.
      TRUSTED_PROXIES: '127.0.0.2',
    },
  });
  browser = await chromium.launch({ executablePath: inject('chromiumPath'), args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
  await shop?.close();
  await elsewhere?.close();
});

async function shopPage(url = shop.url): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  return page;
}

const mailTo = (address: string) => system.smtp.messagesTo(address);

describe('the SDKs, unchanged, from a page of another origin', () => {
  it("analytics.js: an anonymous product view, then the sign-up, and the reminder reaches the address given", async () => {
    const userId = uniqueId('visitor');
    const email = `${userId}@example.com`;
    const page = await shopPage();
    await page.evaluate(
      async ({ writeKey, host, userId, email }) => {
        const { AnalyticsBrowser } = (globalThis as unknown as { AnalyticsNext: typeof import('@segment/analytics-next') }).AnalyticsNext;
        const [analytics] = await AnalyticsBrowser.load({ writeKey, cdnURL: host });
        await analytics.track('Product Viewed', { product_id: 'p-1', name: 'Trail shoe' });
        await analytics.identify(userId, { email, first_name: 'Ada' });
      },
      { writeKey: browserKey, host: system.httpUrl, userId, email },
    );
    await waitUntil(async () => mailTo(email).length === 1, 30_000, 'the browse reminder');
    expect(mailTo(email)[0]!.subject).toMatch(/Trail shoe|still/i);
    await page.close();
  });

  it('analytics.js batching (/v1/b) and a beacon with the write key in a text/plain body', async () => {
    const userId = uniqueId('batcher');
    const page = await shopPage();
    const beaconId = uniqueId('beacon');
    await page.evaluate(
      async ({ writeKey, host, userId, beaconId }) => {
        const { AnalyticsBrowser } = (globalThis as unknown as { AnalyticsNext: typeof import('@segment/analytics-next') }).AnalyticsNext;
        const [analytics] = await AnalyticsBrowser.load(
          { writeKey, cdnURL: host },
          { integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 200 } } } } },
        );
        await Promise.all([analytics.identify(userId), analytics.page(), analytics.track('Product Added', { product_id: 'p-2' })]);
        (globalThis as unknown as { navigator: { sendBeacon(url: string, body: string): boolean } }).navigator.sendBeacon(`${host}/v1/t`, JSON.stringify({ writeKey, userId, event: 'Tab Hidden', messageId: beaconId }));
      },
      { writeKey: browserKey, host: system.httpUrl, userId, beaconId },
    );
    await waitUntil(async () => (await system.db.collections.inboundEvents.countDocuments({ _id: `${browserKey}:${beaconId}` })) === 1, 10_000, 'the beacon');
    const claims = await system.db.collections.inboundEvents.find({ source: browserKey }).toArray();
    const types = claims.map((c) => JSON.parse(c.message ?? '{}') as { type: string; userId?: string; event?: string }).filter((m) => m.userId === userId);
    expect(types.map((m) => m.event ?? m.type).sort()).toEqual(['Product Added', 'Tab Hidden', 'identify', 'page']);
    await page.close();
  });

  it("RudderStack's SDK: its configuration from here, an identify (traits in context.traits) and a checkout, and the cart reminder goes out", async () => {
    const userId = uniqueId('rudder');
    const email = `${userId}@example.com`;
    const page = await shopPage();
    await page.evaluate(
      async ({ writeKey, host, userId, email }) => {
        const sdk = (globalThis as unknown as { rudderanalytics: { RudderAnalytics: new () => RudderAnalytics } }).rudderanalytics;
        interface RudderAnalytics {
          load(writeKey: string, dataPlaneUrl: string, options: object): void;
          ready(callback: () => void): void;
          identify(userId: string, traits: object): void;
          track(event: string, properties: object): void;
        }
        const analytics = new sdk.RudderAnalytics();
        analytics.load(writeKey, host, { configUrl: host });
        await new Promise<void>((resolve) => analytics.ready(resolve));
        analytics.identify(userId, { email });
        analytics.track('Checkout Started', { cart_id: `cart-${userId}` });
      },
      { writeKey: browserKey, host: system.httpUrl, userId, email },
    );
    await waitUntil(async () => mailTo(email).length === 1, 30_000, 'the cart reminder');
    await system.track(userId, 'Order Completed');
    await page.close();
  });
});

/** A request as a browser (or anything claiming to be one) sends it, optionally through "the proxy" at 127.0.0.2. */
function send(path: string, options: { method?: string; origin?: string; key?: string; body?: unknown; headers?: Record<string, string>; viaProxyFor?: string } = {}) {
  const { method = 'POST', origin, key = browserKey, body, viaProxyFor } = options;
  const url = new URL(path, system.httpUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const request = http.request(
      url,
      {
        method,
        ...(viaProxyFor ? { localAddress: '127.0.0.2' } : {}),
        headers: {
          ...(origin ? { origin } : {}),
          ...(key ? { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` } : {}),
          ...(payload ? { 'content-type': 'text/plain' } : {}),
          ...(viaProxyFor ? { 'x-forwarded-for': viaProxyFor } : {}),
          ...options.headers,
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

const aTrack = (userId = uniqueId('t'), event = 'Page Scrolled') => ({ userId, event, messageId: uniqueId('m') });

describe('what a public key may not do', () => {
  it('answers preflights for listed origins only, and refuses a request from any other with a 403 naming it', async () => {
    const preflight = await send('/v1/t', { method: 'OPTIONS', origin: shop.url, key: '', headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': shop.url, 'access-control-allow-credentials': 'true', 'access-control-max-age': '86400' });
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('authorization');
    const wildcard = await send('/v1/t', { method: 'OPTIONS', origin: 'http://www.shop.test', key: '', headers: { 'access-control-request-method': 'POST' } });
    expect(wildcard.headers['access-control-allow-origin']).toBe('http://www.shop.test');
    const stranger = await send('/v1/t', { method: 'OPTIONS', origin: elsewhere.url, key: '', headers: { 'access-control-request-method': 'POST' } });
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();

    const refused = await send('/v1/t', { origin: elsewhere.url, body: aTrack() });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error).toContain(`origin ${elsewhere.url} may not send with this browser write key`);
    // A listed origin's key from another source's origin is refused too.
    expect((await send('/v1/t', { origin: shop.url, key: limitedKey, body: aTrack() })).status).toBe(403);
    expect((await send('/v1/t', { origin: shop.url, body: aTrack() })).status).toBe(200);
  });

  it('the page of another origin cannot send: the browser stops it, and nothing arrives', async () => {
    const userId = uniqueId('stranger');
    const page = await shopPage(elsewhere.url);
    const outcome = await page.evaluate(
      async ({ writeKey, host, userId }) =>
        fetch(`${host}/v1/t`, { method: 'POST', headers: { authorization: `Basic ${btoa(`${writeKey}:`)}`, 'content-type': 'text/plain' }, body: JSON.stringify({ userId, event: 'Product Viewed' }) }).then(
          (r) => `answered ${r.status}`,
          () => 'blocked',
        ),
      { writeKey: browserKey, host: system.httpUrl, userId },
    );
    expect(outcome).toBe('blocked');
    const claims = await system.db.collections.inboundEvents.find({ source: browserKey }).toArray();
    expect(claims.filter((c) => (c.message ?? '').includes(userId))).toEqual([]);
    await page.close();
  });

  it('a server key is a secret: refused from a page, unaffected from a server; a browser key reaches nothing but events', async () => {
    const fromPage = await send('/v1/t', { origin: shop.url, key: system.writeKey, body: aTrack() });
    expect(fromPage.status).toBe(403);
    expect(JSON.parse(fromPage.body).error).toContain('server-side secret');
    expect((await send('/v1/t', { key: system.writeKey, body: aTrack() })).status).toBe(200);

    for (const [method, path] of [['GET', '/admin/reports/journeys/cartAbandonment'], ['POST', '/admin/suppressions']]) {
      const response = await fetch(new URL(path!, system.httpUrl), { method, headers: { authorization: `Bearer ${browserKey}`, origin: shop.url, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(response.status, path).toBe(401);
    }
  });

  it('flags events from bots and crawlers, and keeps them', async () => {
    const event = aTrack();
    const response = await send('/v1/t', { origin: shop.url, body: event, headers: { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' } });
    expect(response.status).toBe(200);
    const claim = await system.db.collections.inboundEvents.findOne({ _id: `${browserKey}:${event.messageId}` });
    expect(JSON.parse(claim!.message!).context).toMatchObject({ bot: true });
  });

  it('limits each client IP and each browser key per minute, with 429 and Retry-After; the client IP comes from a trusted proxy only', async () => {
    // The limits count per minute on the clock: start early in one, so the whole test falls in it.
    await waitUntil(async () => new Date().getSeconds() < 40, 25_000, 'early in a minute');
    const from = (ip: string) => ({ origin: 'http://www.shop.test', key: limitedKey, body: aTrack(), viaProxyFor: ip });
    for (let i = 0; i < 40; i++) expect((await send('/v1/t', from('203.0.113.7'))).status).toBe(200);
    const limited = await send('/v1/t', from('203.0.113.7'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another visitor behind the same proxy has a budget of their own; the key's is nearly spent.
    for (let i = 0; i < 20; i++) expect((await send('/v1/t', from('198.51.100.9'))).status).toBe(200);
    const keySpent = await send('/v1/t', from('192.0.2.44'));
    expect(keySpent.status).toBe(429);
    // Straight in (not through the trusted proxy), a forwarded-for is not believed: 127.0.0.1 is the client.
    const untrusted = await send('/v1/t', { origin: 'http://www.shop.test', key: limitedKey, body: aTrack(), headers: { 'x-forwarded-for': '203.0.113.99' } });
    expect(untrusted.status).toBe(429); // the key is spent whatever the IP
    const counters = await system.db.collections.rateLimits.find({}).toArray();
    expect(counters.map((c) => c._id.split('@')[0]).sort()).toEqual(
      expect.arrayContaining(['browser-ip:127.0.0.1', 'browser-ip:198.51.100.9', 'browser-ip:203.0.113.7', `browser-key:${limitedKey}`]),
    );
    expect(counters.map((c) => c._id)).not.toContainEqual(expect.stringContaining('203.0.113.99'));
  });
});
