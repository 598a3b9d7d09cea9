/** Browse abandonment: one reminder two hours after a view, exit on add-to-cart, a week's cooldown. */
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { browseAbandonment } from '../../workflows/journeys/browse-abandonment.js';
import { journeyVersions } from '../../workflows/journeys/index.js';
import { eq } from '../../workflows/sdk/conditions.js';
import type { JourneyDefinition } from '../../workflows/sdk/journey.js';
import { startJourneyTester, type JourneyTester } from '../support/journey-tester.js';

let tester: JourneyTester;
beforeAll(async () => {
  tester = await startJourneyTester();
});
afterAll(() => tester?.close());

const throw_ = { name: 'Linen throw', price: 49, currency: 'EUR', url: 'https://shop.example/p/linen-throw' };

it('reminds two hours after a view, then waits a week before it can remind again', async () => {
  const viewer = await tester.customer({ first_name: 'Vi' });
  await viewer.track('Product Viewed', throw_);
  await tester.advance('119 minutes');
  expect(viewer.emailSubjects()).toEqual([]);
  await tester.advance('2 minutes');
  expect(await viewer.waitForEmails(1)).toEqual(['Still thinking about Linen throw?']);
  const first = await tester.env.client.workflow.getHandle(`journey/browseAbandonment/${viewer.userId}`).describe();

  await tester.advance('3 days');
  await viewer.track('Product Viewed', throw_); // inside the cooldown: no new journey
  const still = await tester.env.client.workflow.getHandle(`journey/browseAbandonment/${viewer.userId}`).describe();
  expect(still.runId).toBe(first.runId);

  await tester.advance('5 days');
  await viewer.track('Product Viewed', throw_); // cooldown over
  const again = await tester.env.client.workflow.getHandle(`journey/browseAbandonment/${viewer.userId}`).describe();
  expect(again.runId).not.toBe(first.runId);
  await viewer.result('browseAbandonment');
  expect(viewer.emailSubjects()).toHaveLength(2);
});

it('adding the product to the cart ends the journey without a reminder', async () => {
  const shopper = await tester.customer();
  await shopper.track('Product Viewed', throw_);
  await tester.advance('30 minutes');
  await shopper.track('Product Added', throw_);
  expect(await shopper.result('browseAbandonment')).toMatchObject({ status: 'exited', exitEvent: 'Product Added' });
  expect(await shopper.decisions()).toEqual([]);
});

/** The shipped journeys with browse abandonment's entry rules changed, as a deployment would route. */
function deployedWithEntry(entry: Partial<Pick<JourneyDefinition['entry'], 'where' | 'key' | 'reentry' | 'window'>>): JourneyDefinition[] {
  return journeyVersions.map((j) => (j === browseAbandonment ? { ...j, entry: { ...j.entry, ...entry } } : j));
}

async function entered(userId: string): Promise<boolean> {
  try {
    await tester.env.client.workflow.getHandle(`journey/browseAbandonment/${userId}`).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

it('admits only customers and events matching the entry filter', async () => {
  const vipOnly = deployedWithEntry({ where: eq('profile.tier', 'vip') });
  const vip = await tester.customer({ tier: 'vip' });
  const regular = await tester.customer({ tier: 'regular' });
  await vip.track('Product Viewed', throw_, vipOnly);
  await regular.track('Product Viewed', throw_, vipOnly);
  expect(await entered(vip.userId)).toBe(true);
  expect(await entered(regular.userId)).toBe(false);
});

it('admits no one outside the entry window', async () => {
  const closed = deployedWithEntry({ window: { until: '2020-01-01T00:00:00Z' } });
  const late = await tester.customer();
  await late.track('Product Viewed', throw_, closed);
  expect(await entered(late.userId)).toBe(false);
});
