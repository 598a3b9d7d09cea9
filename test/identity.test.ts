/**
 * Identity over the Segment API on the real stack: an anonymous visitor's journey carries on under
 * the customer they turn out to be (identify or alias), without entering them twice; traits are
 * last-write-wins by event time.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { USER_ID } from '../workflows/sdk/search-attributes.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ journeySettings: { browseAbandonment: { browseWindow: '4s' } } });
});
afterAll(() => system?.close());

const product = { name: 'Linen throw', price: 49, currency: 'EUR', url: 'https://shop.example/p/linen-throw' };
const browseId = (person: string) => journeyWorkflowId('browseAbandonment', person);

async function accepted(path: string, body: Record<string, unknown>) {
  const response = await system.post(path, { messageId: uniqueId('m'), ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
}

async function notStarted(workflowId: string) {
  await expect(system.temporal.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('an anonymous visitor who signs in', () => {
  it('gets the reminder their anonymous browsing started, once, at their known address', async () => {
    const anonymousId = uniqueId('anon');
    const userId = uniqueId('known');
    await accepted('/v1/track', { anonymousId, event: 'Product Viewed', properties: product });
    const instance = system.temporal.workflow.getHandle(browseId(`anonymous:${anonymousId}`));
    await instance.describe();

    // Signing in: identify names both ids; the anonymous instance now follows the customer.
    await accepted('/v1/identify', { anonymousId, userId, traits: { email: `${userId}@example.com`, first_name: 'Ana' } });
    // Viewing again as the known customer joins the running instance instead of starting another.
    await accepted('/v1/track', { userId, event: 'Product Viewed', properties: product });
    await notStarted(browseId(userId));

    await instance.result();
    expect(system.smtp.messagesTo(`${userId}@example.com`).map((m) => m.subject)).toEqual(['Still thinking about Linen throw?']);
    expect(await system.reasons(userId)).toEqual(['browse-reminder-email:sent']);
    // "Why did user X get message Y" finds the run under the known userId.
    const runs = [];
    for await (const run of system.temporal.workflow.list({ query: `${USER_ID.name} = "${userId}"` })) runs.push(run.workflowId);
    expect(runs).toEqual([browseId(`anonymous:${anonymousId}`)]);
  });

  it('leaves the anonymous journey when the known customer converts', async () => {
    const anonymousId = uniqueId('anon');
    const userId = uniqueId('known');
    await accepted('/v1/page', { anonymousId, name: 'Linen throw', properties: { path: '/p/linen-throw' } });
    await accepted('/v1/track', { anonymousId, event: 'Product Viewed', properties: product });
    // alias (previousId = the anonymous id) links them as identify does.
    await accepted('/v1/alias', { previousId: anonymousId, userId });
    await accepted('/v1/track', { userId, event: 'Product Added', properties: product });
    const result = await system.temporal.workflow.getHandle(browseId(`anonymous:${anonymousId}`)).result();
    expect(result).toMatchObject({ status: 'exited', exitEvent: 'Product Added' });
  });

  it('later anonymous events with the same anonymousId are the known customer', async () => {
    const anonymousId = uniqueId('anon');
    const userId = uniqueId('known');
    await accepted('/v1/identify', { anonymousId, userId, traits: { email: `${userId}@example.com` } });
    await accepted('/v1/track', { anonymousId, event: 'Product Viewed', properties: product });
    await system.temporal.workflow.getHandle(browseId(userId)).describe();
    await notStarted(browseId(`anonymous:${anonymousId}`));
  });

  it('folds traits given anonymously into the known profile, newer values winning', async () => {
    const anonymousId = uniqueId('anon');
    const userId = uniqueId('known');
    await accepted('/v1/identify', { userId, traits: { plan: 'basic', email: 'old@example.com' }, timestamp: '2026-01-01T10:00:00.000Z' });
    await accepted('/v1/identify', { anonymousId, traits: { plan: 'pro', locale: 'fr-FR' }, timestamp: '2026-01-02T10:00:00.000Z' });
    await accepted('/v1/identify', { anonymousId, traits: { email: 'older@example.com' }, timestamp: '2025-12-01T10:00:00.000Z' });
    await accepted('/v1/identify', { anonymousId, userId, traits: {}, timestamp: '2026-01-03T10:00:00.000Z' });
    const profile = await system.db.collections.profiles.findOne({ _id: userId });
    expect(profile?.traits).toMatchObject({ plan: 'pro', locale: 'fr-FR', email: 'old@example.com' });
  });
});

describe('traits', () => {
  it('are last-write-wins by event time: a late event does not overwrite a newer value', async () => {
    const userId = uniqueId('lww');
    await accepted('/v1/identify', { userId, traits: { plan: 'pro' }, timestamp: '2026-03-01T12:00:00.000Z' });
    await accepted('/v1/identify', { userId, traits: { plan: 'basic', city: 'Lyon' }, timestamp: '2026-03-01T11:00:00.000Z' });
    expect((await system.db.collections.profiles.findOne({ _id: userId }))?.traits).toMatchObject({ plan: 'pro', city: 'Lyon' });
    await accepted('/v1/identify', { userId, traits: { plan: 'team' }, timestamp: '2026-03-02T09:00:00.000Z' });
    expect((await system.db.collections.profiles.findOne({ _id: userId }))?.traits.plan).toBe('team');
  });

  it('take their time corrected for the sender clock skew, as Segment does', async () => {
    const userId = uniqueId('skew');
    // The device clock is a day fast: it stamped the event at 12:00 and sent it at 12:00:05.
    const before = Date.now();
    await accepted('/v1/identify', { userId, traits: { plan: 'pro' }, timestamp: '2030-06-01T12:00:00.000Z', sentAt: '2030-06-01T12:00:05.000Z' });
    const at = (await system.db.collections.profiles.findOne({ _id: userId }))?.traitTimes?.plan;
    expect(at).toBeInstanceOf(Date);
    expect(at!.getTime()).toBeGreaterThanOrEqual(before - 5_000 - 1_000);
    expect(at!.getTime()).toBeLessThanOrEqual(Date.now() - 5_000);
  });

  it('normalise phone numbers to E.164 and keep group traits under the group', async () => {
    const userId = uniqueId('ph');
    await accepted('/v1/identify', { userId, traits: { phone: '(415) 555-2671' } });
    await accepted('/v1/group', { userId, groupId: 'acme', traits: { name: 'Acme', plan: 'enterprise' } });
    expect((await system.db.collections.profiles.findOne({ _id: userId }))?.traits).toMatchObject({
      phone: '+14155552671',
      groups: { acme: { name: 'Acme', plan: 'enterprise' } },
    });
  });
});
