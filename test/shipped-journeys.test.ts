/**
 * The shipped journeys on the real stack (Temporal dev server, database, SMTP, over the HTTP API) with
 * shortened settings, and the operator's CLI against them: journeys in flight, live step counts, and
 * replaying their histories from the server, including a build that would break them.
 */
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../stack/wait-until.js';
import { runCli } from './support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';
import { buildWithout } from './support/builds.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    // Cart abandonment's entrants get v1 here, the version the replay fixtures edit (v2 is tested in
    // engagement.test.ts); win-back's get v1, entered by an event (v2 enters from the lapsed segment).
    journeys: buildWithout('cartAbandonment@2', 'winBack@2'),
    journeySettings: {
      cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' },
      browseAbandonment: { browseWindow: '1s' },
      welcomeSeries: { followUpDelay: '1s', firstOrderWindow: '1s' },
      winBack: { attributionWindow: '1 hour' },
    },
  });
});
afterAll(() => system?.close());

async function customer(traits: Record<string, unknown> = {}) {
  const userId = uniqueId('shipped');
  await system.identify(userId, { email: `${userId}@example.com`, ...traits });
  return { userId, subjects: () => system.smtp.messagesTo(`${userId}@example.com`).map((m) => m.subject) };
}

describe('shipped journeys on the real stack', () => {
  it('browse abandonment reminds about the product viewed', async () => {
    const c = await customer();
    await system.track(c.userId, 'Product Viewed', { name: 'Oak tray', url: 'https://shop.example/p/oak-tray' });
    expect((await system.journeyResult(c.userId, 'browseAbandonment')).status).toBe('completed');
    expect(c.subjects()).toEqual(['Still thinking about Oak tray?']);
  });

  it('welcome series v2: welcome, referral thanks, first-order nudge, profile marked onboarded', async () => {
    const c = await customer({ first_name: 'Rae', signup_source: 'referral' });
    await system.track(c.userId, 'Signed Up', { method: 'email' });
    const result = await system.journeyResult(c.userId, 'welcomeSeries');
    expect(result.steps.map((s) => s.outcome)).toContain('branch:referral');
    expect(c.subjects()).toEqual(['Welcome to the shop, Rae', 'Your friend was right about us', 'A little something for your first order']);
    expect((await system.db.collections.profiles.findOne({ _id: c.userId }))?.traits.onboarded).toBe(true);
  });

  it('the review request for an order delivered days ago goes out at once, per order', async () => {
    const c = await customer({ timezone: 'Europe/Berlin' });
    await system.track(c.userId, 'Order Delivered', { order_id: 'B-7', delivered_at: '2026-01-05T09:00:00Z' });
    const result = await system.temporal.workflow.getHandle(`journey/postPurchaseReview/${c.userId}/B-7`).result();
    expect(result).toMatchObject({ status: 'completed' });
    expect(c.subjects()).toEqual(['How is your order B-7?']);
  });
});

describe('operator CLI', () => {
  it('shows customers in flight per version and per step, live', async () => {
    const c = await customer();
    await system.track(c.userId, 'Customer Lapsed', { days_since_order: 120 });
    // v1 is the version this deployment enters customers into (v2 enters from the lapsed segment).
    const showV1 = ['journeys', 'show', 'winBack', '--version', '1'];
    await waitUntil(async () => (await runCli(showV1, system.env)).stdout.includes('[1 here]'), 30_000, 'the live count');
    const shown = await runCli(showV1, system.env);
    expect(shown.stdout).toMatch(/winBack v1: Lapsed customers/);
    expect(shown.stdout).toMatch(/attribution-window: wait setting attributionWindow \[1 here\]/);
    expect(shown.stdout).toMatch(/A 45%:\n\s+winback-email-a: email winback-a \(marketing\)/);
    const latest = await runCli(['journeys', 'show', 'winBack'], system.env);
    expect(latest.stdout).toMatch(/winBack v2: Customers who join the lapsed segment/);
    expect(latest.stdout).toContain('enters on joining segment lapsed; exits on "Order Completed"');
    // Counted across the namespace: other test files' customers may be in v2.
    const listed = await runCli(['journeys'], system.env);
    expect(listed.stdout).toMatch(/winBack\s+latest v2 {2}v1: 1 in flight, v2: \d+ in flight/);
    expect(listed.stdout).toMatch(/welcomeSeries\s+latest v2 {2}v1: \d+ in flight, v2: \d+ in flight/);
    const mermaid = await runCli(['journeys', 'show', 'winBack', '--mermaid'], system.env);
    expect(mermaid.stdout).toMatch(/^flowchart TD/);
    expect(mermaid.stdout).toContain('n_subject_test -->|holdout 10%|');
    await system.track(c.userId, 'Order Completed', { order_id: 'wb-1' });
    expect((await system.journeyResult(c.userId, 'winBack')).status).toBe('exited');
  });

  it('replays instances from the server, and fails naming the steps for a build that would break them', async () => {
    const c = await customer({ phone: '+14155559999', consent: { sms: true } });
    await system.track(c.userId, 'Checkout Started', { cart_id: 'r-1' });
    await system.journeyResult(c.userId);
    const query = ['--query', `WorkflowId = 'journey/cartAbandonment/${c.userId}'`];
    await waitUntil(async () => (await runCli(['replay', ...query], system.env)).stdout.includes('replayed 1 histories'), 30_000, 'visibility');

    const clean = await runCli(['replay', ...query], system.env);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain(`ok   journey/cartAbandonment/${c.userId}`);
    expect(clean.stdout).toMatch(/replayed 1 histories .*: 1 ok, 0 nondeterministic/);

    const fixture = fileURLToPath(new URL('./fixtures/reordered-journey-workflows.ts', import.meta.url));
    const bundlePath = path.join(await mkdtemp(path.join(os.tmpdir(), 'reordered-')), 'bundle.js');
    await writeFile(bundlePath, (await bundleWorkflowCode({ workflowsPath: fixture, logger: new DefaultLogger('WARN') })).code);
    const broken = await runCli(['replay', ...query], { ...system.env, WORKFLOW_BUNDLE: bundlePath });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`FAIL journey/cartAbandonment/${c.userId}: .*'cart-reminder-email#1'.*'cart-reminder-sms#1'`));
    expect(broken.stdout).toMatch(/0 ok, 1 nondeterministic/);

    const byJourney = await runCli(['replay', '--journey', 'browseAbandonment', '--status', 'completed'], system.env);
    expect(byJourney.code).toBe(0);
  });
});
