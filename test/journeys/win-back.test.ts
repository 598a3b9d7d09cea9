/** Win-back: A/B subject test with a 10% holdout; returns credited to the email that preceded them. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { journeyVersion } from '../../workflows/journeys/index.js';
import { changeId, memberId } from '../../store/segment-memberships.js';
import { journeyWorkflowId, stateQuery } from '../../workflows/sdk/definitions.js';
import { chooseVariant } from '../../workflows/sdk/split.js';
import type { StepOf } from '../../workflows/sdk/steps.js';
import { winBackV1Build } from '../support/builds.js';
import { startJourneyTester, type JourneyTester } from '../support/journey-tester.js';

let tester: JourneyTester;
beforeAll(async () => {
  tester = await startJourneyTester();
});
afterAll(() => tester?.close());

/** One customer id per variant, found the way the journey assigns them. */
function idsPerVariant(): Record<string, string> {
  const test = journeyVersion('winBack', 1)!.steps[0] as StepOf<'split'>;
  const found: Record<string, string> = {};
  for (let i = 0; Object.keys(found).length < test.variants.length; i++) {
    const userId = `lapsed-${i}-${Date.now()}`;
    found[chooseVariant(test.variants, `winBack:subject-test:${userId}`).name] ??= userId;
  }
  return found;
}

it('sends each variant its subject, the holdout nothing, and credits returns to the email', async () => {
  const ids = idsPerVariant();
  const a = await tester.customer({ first_name: 'Ann' }, ids.A);
  const b = await tester.customer({ first_name: 'Ben' }, ids.B);
  const holdout = await tester.customer({ first_name: 'Hal' }, ids.holdout);
  for (const c of [a, b, holdout]) await c.track('Customer Lapsed', { days_since_order: 95 }, winBackV1Build);

  expect(await a.waitForEmails(1)).toEqual(['We miss you, Ann']);
  expect(await b.waitForEmails(1)).toEqual(['15% off, just for you']);
  await tester.advance('3 days');
  expect(holdout.emailSubjects()).toEqual([]);

  await a.track('Order Completed', { order_id: 'a-1' }, winBackV1Build);
  await holdout.track('Order Completed', { order_id: 'h-1' }, winBackV1Build);
  expect((await a.result('winBack')).status).toBe('exited');
  const conversions = tester.system.db.collections.conversions;
  expect(await conversions.findOne({ userId: a.userId })).toMatchObject({ goal: 'returned', attributedTo: ['winback-email-a'] });
  // The holdout's return counts too (that is the baseline), credited to no message.
  expect((await holdout.result('winBack')).status).toBe('exited');
  expect(await conversions.findOne({ userId: holdout.userId })).toMatchObject({ goal: 'returned', attributedTo: [] });

  const bResult = await b.result('winBack');
  expect(bResult.steps.map((s) => `${s.stepId}:${s.outcome}`)).toEqual([
    'subject-test:variant:B',
    'winback-email-b:sent',
    'attribution-window:waited',
  ]);
  expect(await conversions.findOne({ userId: b.userId })).toBeNull();
});

it('keeps a customer in the same variant when they lapse again', async () => {
  const ids = idsPerVariant();
  const again = await tester.customer({}, ids.B);
  await again.track('Customer Lapsed', {}, winBackV1Build);
  await again.result('winBack');
  await tester.advance('91 days'); // past the re-entry cooldown
  await again.track('Customer Lapsed', {}, winBackV1Build);
  const second = await again.result('winBack');
  expect(second.steps[0]).toMatchObject({ stepId: 'subject-test', outcome: 'variant:B' });
  expect(again.emailSubjects()).toEqual(['15% off, just for you', '15% off, just for you']);
});

it('v2 enters at the moment the customer joins the lapsed segment, once per change, and ends with the next order', async () => {
  const ids = idsPerVariant();
  const ann = await tester.customer({ first_name: 'Ann' }, ids.A);
  await ann.track('Order Completed', { order_id: 'o-1', revenue: 40 });
  await tester.advance('59 days');
  await ann.timePassed();
  expect(ann.emailSubjects()).toEqual([]); // still inside the 60 days
  await tester.advance('1 day');
  await ann.timePassed();
  expect(await ann.waitForEmails(1)).toEqual(['We miss you, Ann']);

  const handle = tester.env.client.workflow.getHandle(journeyWorkflowId('winBack', ann.userId));
  const joined = await tester.system.db.collections.segmentChanges.findOne({ _id: changeId('lapsed@1', ann.userId, 1) });
  expect(joined).toMatchObject({ change: 'joined', cause: 'time' });
  expect(joined!.dispatch).toBeUndefined(); // handed over, its outbox mark cleared
  expect((await handle.query(stateQuery)).version).toBe(2);
  const { runId } = await handle.describe();
  // The same change handed over again, as the recovery schedule does after a writer died: nothing more.
  await tester.router().routeChange(joined!, joined!.at);
  await ann.timePassed(); // and the clock applying the moment again changes nothing
  expect((await handle.describe()).runId).toBe(runId);
  expect(await tester.system.db.collections.segmentChanges.countDocuments({ userId: ann.userId })).toBe(1);

  await ann.track('Order Completed', { order_id: 'o-2', revenue: 30 });
  expect((await ann.result('winBack')).status).toBe('exited');
  expect(await tester.system.db.collections.segmentMembers.findOne({ _id: memberId('lapsed@1', ann.userId) })).toMatchObject({ member: false, n: 2 });
  expect(ann.emailSubjects()).toEqual(['We miss you, Ann']);
});
