/** Welcome series on simulated time, and safe versioning: v1 and v2 instances in flight together. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journeyVersions } from '../../workflows/journeys/index.js';
import { journeyWorkflowId } from '../../workflows/sdk/definitions.js';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { sealingCodec } from '../../platform/payload-codec.js';
import { startJourneyTester, type JourneyTester } from '../support/journey-tester.js';

let tester: JourneyTester;
beforeAll(async () => {
  tester = await startJourneyTester();
});
afterAll(() => tester?.close());

/** What each profile read put into the instance's history: its profileSnapshot results, opened with the key. */
async function profileReadsIn(workflowId: string): Promise<unknown[]> {
  const events = (await tester.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const profileReads = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'profileSnapshot').map((e) => String(e.eventId)));
  const results = events.filter((e) => profileReads.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId))).map((e) => e.activityTaskCompletedEventAttributes!.result!.payloads![0]! as Payload);
  const opened = await sealingCodec(tester.system.config.PAYLOAD_KEYS!).decode(results);
  return opened.map((payload) => defaultPayloadConverter.fromPayload(payload));
}

describe('welcome series v2', () => {
  it('thanks a referred customer after two days, nudges a week later, marks them onboarded', async () => {
    const ada = await tester.customer({ first_name: 'Ada', signup_source: 'referral' });
    await ada.track('Signed Up');
    expect(await ada.waitForEmails(1)).toEqual(['Welcome to the shop, Ada']);
    await tester.advance('47 hours');
    expect(ada.emailSubjects()).toHaveLength(1);
    await tester.advance('2 hours');
    expect(await ada.waitForEmails(2)).toEqual(['Welcome to the shop, Ada', 'Your friend was right about us']);
    expect(await ada.currentStep('welcomeSeries')).toBe('wait-for-first-order');
    const result = await ada.result('welcomeSeries');
    expect(result.status).toBe('completed');
    expect(ada.emailSubjects()).toContain('A little something for your first order');
    const profile = await tester.system.db.collections.profiles.findOne({ _id: ada.userId });
    expect(profile?.traits.onboarded).toBe(true);
    // The branch read the one trait it names: her email and name stayed out of the history.
    expect(await profileReadsIn(journeyWorkflowId('welcomeSeries', ada.userId))).toEqual([{ traits: { signup_source: 'referral' } }]);
  });

  it('sends tips to other sign-ups, and no nudge to one who ordered; the order is credited to the emails', async () => {
    const bo = await tester.customer({ first_name: 'Bo', signup_source: 'search' });
    await bo.track('Signed Up');
    await tester.advance('2 days');
    expect(await bo.waitForEmails(2)).toEqual(['Welcome to the shop, Bo', 'Three ways to get the most from the shop']);
    await tester.advance('1 day');
    await bo.track('Order Completed', { order_id: 'b-1' });
    const result = await bo.result('welcomeSeries');
    expect(result.steps.map((s) => `${s.stepId}:${s.outcome}`)).toEqual([
      'welcome-email:sent',
      'wait-before-follow-up:waited',
      'by-signup-source:branch:otherwise',
      'tips-email:sent',
      'goal:first-order:converted:Order Completed',
      'wait-for-first-order:received:Order Completed',
      'mark-onboarded:profile-updated',
    ]);
    expect(bo.emailSubjects()).toHaveLength(2);
    const conversion = await tester.system.db.collections.conversions.findOne({ userId: bo.userId });
    expect(conversion).toMatchObject({ goal: 'first-order', version: 2, attributedTo: ['welcome-email', 'tips-email'] });
  });

  it('does not miss an order placed before the journey reached its wait for it', async () => {
    const early = await tester.customer({ signup_source: 'search' });
    await early.track('Signed Up');
    await early.waitForEmails(1);
    await early.track('Order Completed', { order_id: 'e-1' }); // during the two-day wait, before wait-for-first-order
    const result = await early.result('welcomeSeries');
    expect(result.steps.find((s) => s.stepId === 'wait-for-first-order')?.outcome).toBe('received:Order Completed');
    expect(early.emailSubjects()).not.toContain('A little something for your first order');
  });

  it('never lets a customer enter twice', async () => {
    const cy = await tester.customer({ signup_source: 'search' });
    await cy.track('Signed Up');
    await cy.result('welcomeSeries');
    const emails = cy.emailSubjects().length;
    await cy.track('Signed Up');
    await tester.advance('10 days');
    expect(cy.emailSubjects()).toHaveLength(emails);
  });
});

describe('versioning', () => {
  it('a customer who entered v1 finishes v1 while new sign-ups run v2', async () => {
    const beforeV2 = journeyVersions.filter((j) => !(j.id === 'welcomeSeries' && j.version === 2));
    const early = await tester.customer({ signup_source: 'search' });
    await early.track('Signed Up', {}, beforeV2); // entered while only v1 was deployed
    const late = await tester.customer({ signup_source: 'search' });
    await late.track('Signed Up'); // after v2 shipped
    await tester.advance('1 day');
    const [earlyState, lateState] = await Promise.all([
      tester.env.client.workflow.getHandle(`journey/welcomeSeries/${early.userId}`).query('state'),
      tester.env.client.workflow.getHandle(`journey/welcomeSeries/${late.userId}`).query('state'),
    ]);
    expect(earlyState).toMatchObject({ version: 1 });
    expect(lateState).toMatchObject({ version: 2 });

    // One result at a time: each wait unlocks the test server's time skipping, and two at once can race.
    const earlyResult = await early.result('welcomeSeries');
    const lateResult = await late.result('welcomeSeries');
    expect(earlyResult.steps.map((s) => s.stepId)).toEqual(['welcome-email', 'wait-before-follow-up', 'by-signup-source', 'tips-email']);
    expect(lateResult.steps.map((s) => s.stepId)).toEqual([
      'welcome-email',
      'wait-before-follow-up',
      'by-signup-source',
      'tips-email',
      'wait-for-first-order',
      'first-order-nudge-email',
      'mark-onboarded',
    ]);
  });
});
