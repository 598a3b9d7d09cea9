/**
 * Every journey version this build runs. Add a version by adding its definition here; instances keep
 * the version they entered with, new entrants get the highest. Remove a version once
 * `npm run cli -- journeys` shows none of its instances in flight.
 */
import { latestVersions, type JourneyDefinition } from '../sdk/journey.js';
import { customerOfWorkflow } from '../sdk/definitions.js';
import { browseAbandonment } from './browse-abandonment.js';
import { cartEmailAlone, cartSmsAlone } from './cart-channels-alone.js';
import { cartAbandonmentV1, cartAbandonmentV2 } from './cart-abandonment.js';
import { postPurchaseReviewV1, postPurchaseReviewV2 } from './post-purchase-review.js';
import { welcomeSeriesV1, welcomeSeriesV2 } from './welcome-series.js';
import { vipWelcome } from './vip-welcome.js';
import { birthdayGreeting } from './birthday-greeting.js';
import { renewalReminder } from './renewal-reminder.js';
import { summerSale } from './summer-sale.js';
import { winBackV1, winBackV2 } from './win-back.js';

export const journeyVersions: readonly JourneyDefinition[] = [
  cartAbandonmentV1,
  cartAbandonmentV2,
  cartEmailAlone,
  cartSmsAlone,
  browseAbandonment,
  welcomeSeriesV1,
  welcomeSeriesV2,
  winBackV1,
  winBackV2,
  vipWelcome,
  birthdayGreeting,
  renewalReminder,
  summerSale,
  postPurchaseReviewV1,
  postPurchaseReviewV2,
];

const byKey = new Map<string, JourneyDefinition>();
for (const journey of journeyVersions) {
  const key = `${journey.id}@${journey.version}`;
  if (byKey.has(key)) throw new Error(`journey "${journey.id}" v${journey.version} is defined twice`);
  byKey.set(key, journey);
}

export function journeyVersion(id: string, version: number): JourneyDefinition | undefined {
  return byKey.get(`${id}@${version}`);
}

/** The version each journey's new entrants get: the highest of each journey in `versions`. */
export const latestJourneys = (versions: readonly JourneyDefinition[] = journeyVersions): JourneyDefinition[] => latestVersions(versions);

const keyedJourneys = new Set(journeyVersions.filter((j) => j.entry.key).map((j) => j.id));

/** The customer whose journey instance a workflow is (its payloads are sealed with her key). */
export const journeyCustomer = (workflowId: string): string | undefined => customerOfWorkflow(workflowId, (id) => keyedJourneys.has(id));
