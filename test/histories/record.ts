/**
 * Records workflow histories for the replay test: plays each scenario on the embedded stack (or on
 * TEMPORAL_ADDRESS / MONGODB_URL) through the public HTTP API and writes the finished instance's
 * history to test/histories/<journey>/v<version>-<scenario>.json. Run it when you add a journey or
 * a version (keep the files of versions still in flight). They are sealed with the published key in
 * recorded-key.ts; older ones in plain text replay as they are:
 *   npm run record-histories [-- <part of a scenario tag, e.g. postPurchaseReview-v2>]
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger, stackLogger } from '../../platform/logger.js';
import { postSegment } from '../../client/segment-http.js';
import { startStack } from '../../stack/index.js';
import { startLocalSystem, type LocalSystem } from '../../stack/local-system.js';
import { waitUntil } from '../../stack/wait-until.js';
import { deploymentRouter } from '../../events/router.js';
import { deploymentSegments } from '../../segments/deployment.js';
import { journeyVersions } from '../../workflows/journeys/index.js';
import { armOf, journeyExperiments } from '../../workflows/journeys/experiments.js';
import { journeyWorkflowId } from '../../workflows/sdk/definitions.js';
import { chooseVariant } from '../../workflows/sdk/split.js';
import type { StepOf } from '../../workflows/sdk/steps.js';
import type { JourneyDefinition } from '../../workflows/sdk/journey.js';
import { RECORDED_HISTORIES_KEY } from './recorded-key.js';
import { defineBroadcast } from '../../broadcasts/sdk/broadcast.js';
import { startBroadcast, statusOf } from '../../broadcasts/control.js';

interface Scenario {
  journey: string;
  version: number;
  name: string;
  settings: Record<string, string>;
  traits?: Record<string, unknown>;
  key?: string;
  userId?: string;
  /** Further configuration of the deployment (e.g. JOURNEY_EXPERIMENTS). */
  env?: Record<string, string>;
  /** Plays the events after the profile exists; resolves when the instance may be awaited. `journeys`: the deployment's. */
  play(cdp: Cdp, system: LocalSystem, journeys: readonly JourneyDefinition[]): Promise<void>;
}

type Cdp = (event: string, properties?: Record<string, unknown>) => Promise<void>;

const cart = { cart_id: 'c1', products: [{ name: 'Lamp' }] };
const sms = { phone: '+14155550001', consent: { sms: true } };
const firstEmail = (system: LocalSystem) => waitUntil(() => system.smtp.messages.length > 0, 30_000, 'the first email');

/**
 * A customer the cart-orchestration experiment puts in its independent arm, one per scenario: each
 * scenario starts both of the arm's journeys, and the one not recorded is left waiting.
 */
function independentArm(scenario: string) {
  const experiment = journeyExperiments.find((e) => e.id === 'cart-orchestration')!;
  let userId = '';
  for (let i = 0; armOf(experiment, (userId = `recorded-${scenario}-${i}`)).name !== 'independent'; i++);
  return { userId, env: { JOURNEY_EXPERIMENTS: 'cart-orchestration' }, traits: sms };
}

/**
 * The customer's last order was 61 days ago, learnt now (an import of order history): the lapsed
 * segment takes them in at once, and its journeys hear of the change (the order itself is not routed
 * to journeys, as an imported one is not). The clock does the same when the 60 days run out.
 */
async function lapsed(system: LocalSystem, journeys: readonly JourneyDefinition[], userId: string): Promise<void> {
  const router = deploymentRouter(system.temporal, system.db, system.config, { journeys });
  const segments = deploymentSegments(system.db, system.config, undefined, router);
  await segments.recordEvent(userId, { messageKey: 'import:o-61', event: 'Order Completed', at: new Date(Date.now() - 61 * 86_400_000), properties: {} }, 'event import:o-61');
}

/** The UTC day whose 09:00-to-09:00 window holds now, `days` later: a date whose occasion is on now. */
function occasionDay(days: number): string {
  return new Date(Date.now() - 9 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

/** A customer id the win-back split puts in the given variant. */
function winBackUser(variant: string): string {
  const test = journeyVersions.find((j) => j.id === 'winBack')!.steps[0] as StepOf<'split'>;
  for (let i = 0; ; i++) if (chooseVariant(test.variants, `winBack:subject-test:recorded-${i}`).name === variant) return `recorded-${i}`;
}

const SCENARIOS: Scenario[] = [
  { journey: 'cartAbandonment', version: 1, name: 'completed', settings: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' }, traits: sms, play: (cdp) => cdp('Checkout Started', cart) },
  {
    journey: 'cartAbandonment', version: 1, name: 'converted-while-waiting-for-order', settings: { reminderDelay: '1s', orderWindow: '1 hour', retargetFor: '1s' },
    async play(cdp, system) {
      await cdp('Checkout Started', cart);
      await firstEmail(system);
      await cdp('Order Completed', { order_id: 'o1' });
    },
  },
  {
    journey: 'cartAbandonment', version: 1, name: 'converted-while-retargeted', settings: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1 hour' }, traits: sms,
    async play(cdp, system) {
      await cdp('Checkout Started', cart);
      await waitUntil(() => system.audiences.calls.length > 0, 30_000, 'the audience add');
      await cdp('Order Completed', { order_id: 'o2' });
    },
  },
  { journey: 'cartAbandonment', version: 2, name: 'not-clicked', settings: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '1s' }, traits: sms, play: (cdp) => cdp('Checkout Started', cart) },
  {
    journey: 'cartAbandonment', version: 2, name: 'clicked', settings: { reminderDelay: '1s', orderWindow: '1 hour', retargetFor: '1s' }, traits: sms,
    async play(cdp, system) {
      await cdp('Checkout Started', cart);
      await firstEmail(system);
      // A person's click: after the two seconds within which only scanners click.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const link = /href="([^"]*\/t\/c\/[^"]*)"/.exec(String(system.smtp.messages[0]!.html))![1]!;
      await fetch(link.replaceAll('&amp;', '&'), { redirect: 'manual' });
    },
  },
  { journey: 'cartEmailAlone', version: 1, name: 'emailed', settings: { reminderDelay: '1s', attributionWindow: '1s' }, ...independentArm('emailed'), play: (cdp) => cdp('Checkout Started', cart) },
  { journey: 'cartSmsAlone', version: 1, name: 'texted', settings: { smsDelay: '1s', attributionWindow: '1s' }, ...independentArm('texted'), play: (cdp) => cdp('Checkout Started', cart) },
  { journey: 'browseAbandonment', version: 1, name: 'reminded', settings: { browseWindow: '1s' }, play: (cdp) => cdp('Product Viewed', { name: 'Lamp' }) },
  {
    journey: 'browseAbandonment', version: 1, name: 'added-to-cart', settings: { browseWindow: '1 hour' },
    async play(cdp) {
      await cdp('Product Viewed', { name: 'Lamp' });
      await cdp('Product Added', { name: 'Lamp' });
    },
  },
  { journey: 'welcomeSeries', version: 1, name: 'referral', settings: { followUpDelay: '1s' }, traits: { signup_source: 'referral' }, play: (cdp) => cdp('Signed Up') },
  { journey: 'welcomeSeries', version: 2, name: 'nudged', settings: { followUpDelay: '1s', firstOrderWindow: '1s' }, play: (cdp) => cdp('Signed Up') },
  {
    journey: 'welcomeSeries', version: 2, name: 'ordered', settings: { followUpDelay: '1s', firstOrderWindow: '1 hour' },
    async play(cdp, system) {
      await cdp('Signed Up');
      await waitUntil(() => system.smtp.messages.length >= 2, 30_000, 'the follow-up');
      await cdp('Order Completed', { order_id: 'w1' });
    },
  },
  { journey: 'winBack', version: 2, name: 'variant-a-completed', userId: winBackUser('A'), settings: { attributionWindow: '1s' }, play: (_cdp, system, journeys) => lapsed(system, journeys, winBackUser('A')) },
  // Identified with a date whose occasion is now: the journey's date segment takes them in at once.
  { journey: 'birthdayGreeting', version: 1, name: 'greeted', settings: {}, traits: { timezone: 'UTC', birthday: `1990${occasionDay(0).slice(4)}` }, play: async () => {} },
  { journey: 'renewalReminder', version: 1, name: 'reminded', settings: {}, traits: { timezone: 'UTC', renewal_date: occasionDay(7) }, play: async () => {} },
  { journey: 'vipWelcome', version: 1, name: 'welcomed', settings: {}, play: (cdp) => cdp('Order Completed', { order_id: 'v1', revenue: 600 }) },
  { journey: 'winBack', version: 1, name: 'variant-a-completed', userId: winBackUser('A'), settings: { attributionWindow: '1s' }, play: (cdp) => cdp('Customer Lapsed') },
  {
    journey: 'winBack', version: 1, name: 'holdout-returned', userId: winBackUser('holdout'), settings: { attributionWindow: '1 hour' },
    async play(cdp) {
      await cdp('Customer Lapsed');
      await cdp('Order Completed', { order_id: 'r1' });
    },
  },
  {
    // Entered by an occurrence of the summer-sale broadcast, as a newsletter subscriber.
    journey: 'summerSale', version: 1, name: 'announced-and-called', settings: { lastCallAfter: '1s' }, traits: { consent: { categories: { newsletter: { email: true } } } },
    play: async (_cdp, system) => {
      const sale = defineBroadcast({ id: 'summer-sale', description: 'the recorded sale', segment: 'newsletter', send: { journey: 'summerSale' } });
      const { workflowId } = await startBroadcast(system.temporal, system.config, sale, 'recorded');
      await waitUntil(async () => (await statusOf(system.temporal, workflowId))?.state === 'done', 30_000, 'the customer entered');
    },
  },
  {
    journey: 'postPurchaseReview', version: 1, name: 'asked', key: 'p1', settings: {}, traits: { timezone: 'Europe/Berlin' },
    play: (cdp) => cdp('Order Delivered', { order_id: 'p1', delivered_at: '2026-01-05T09:00:00Z' }),
  },
  {
    journey: 'postPurchaseReview', version: 2, name: 'asked-and-notified', key: 'p2', settings: {}, traits: { timezone: 'Europe/Berlin' },
    play: (cdp) => cdp('Order Delivered', { order_id: 'p2', delivered_at: '2026-01-05T09:00:00Z' }),
  },
];

/** `npm run record-histories -- <text>` records only the scenarios whose tag contains the text. */
const only = process.argv[2];

const outDir = path.dirname(fileURLToPath(import.meta.url));
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-record-'));
const stack = await startStack({ dataDir, log: stackLogger });
try {
  for (const scenario of SCENARIOS.filter((s) => !only || `${s.journey}-v${s.version}-${s.name}`.includes(only))) {
    // A fresh system per scenario, so "wait for the first email" means this scenario's email, and a
    // deployment with only the recorded version, as when that version was the newest.
    const tag = `${scenario.journey}-v${scenario.version}-${scenario.name}`;
    const journeys = journeyVersions.filter((j) => j.id !== scenario.journey || j.version === scenario.version);
    const system = await startLocalSystem({
      temporalAddress: stack.temporalAddress,
      mongoUrl: stack.mongoUrl,
      database: `record_${tag.replaceAll('-', '_')}`,
      taskQueue: `record-${tag}`,
      journeySettings: { [scenario.journey]: scenario.settings },
      journeys,
      // Sealed with the published test key alone: a customer's own key would live in this run's
      // database, gone when it ends, and the fixture with it.
      env: { PAYLOAD_KEYS: RECORDED_HISTORIES_KEY, CUSTOMER_KEYS: 'false', ...scenario.env },
    });
    try {
      const userId = scenario.userId ?? `recorded-${tag}`;
      const send = (path: string, body: Record<string, unknown>) => postSegment(system.httpUrl, system.writeKey, path, body);
      await send('/v1/identify', { userId, traits: { email: `${userId}@example.com`, ...scenario.traits } });
      await scenario.play(async (event, properties = {}) => void (await send('/v1/track', { userId, event, properties })), system, journeys);
      const handle = system.temporal.workflow.getHandle(journeyWorkflowId(scenario.journey, userId, scenario.key));
      await handle.result();
      const file = path.join(outDir, scenario.journey, `v${scenario.version}-${scenario.name}.json`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, historyToJSON(await handle.fetchHistory()) + '\n');
      logger.info({ file }, 'recorded');
    } finally {
      await system.close();
    }
  }
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
