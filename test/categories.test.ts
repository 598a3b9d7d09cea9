/**
 * Suppression and consent per marketing category: a customer who leaves "promotions" still gets the
 * newsletter and every transactional message; opt-in channels accept a "yes" for one category.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { consentHistory } from '../store/consent.js';
import { suppressionHistory } from '../store/suppressions.js';
import type { DeliveryRequest } from '../workflows/sdk/types.js';
import { runCli } from './support/cli.js';
import { deliverer, deliveryRequest } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false, frequencyCap: '100/24h' });
});
afterAll(() => system?.close());

async function customer(traits: Record<string, unknown> = {}) {
  const userId = uniqueId('cat');
  await system.identify(userId, { email: `${userId}@example.com`, phone: '+14155552222', ...traits });
  let step = 0;
  const send = (channel: 'email' | 'sms', category: string, env: Record<string, string> = {}) =>
    deliverer(loadConfig({ ...system.env, QUIET_HOURS: '{}', ...env }), system.db).deliver(
      deliveryRequest(userId, {
        stepId: `step-${++step}`,
        channel,
        category,
        template: channel === 'sms' ? 'cart-reminder-sms' : 'cart-reminder',
      } as Partial<DeliveryRequest>),
    );
  return { userId, send };
}

describe('suppression per category', () => {
  it('holds back only the category named; lifting it lifts only that one', async () => {
    const c = await customer({ consent: { sms: true } });
    const suppress = await system.admin('/admin/suppressions', { userId: c.userId, channel: 'email', category: 'promotions', reason: 'manual', evidence: 'asked by phone' });
    expect(suppress.status).toBe(201);

    expect((await c.send('email', 'promotions')).reason).toBe('suppressed:manual:promotions');
    expect((await c.send('email', 'newsletter')).reason).toBe('sent');
    expect((await c.send('email', 'transactional')).reason).toBe('sent');
    expect((await c.send('sms', 'promotions')).reason).toBe('sent');

    // A channel-wide lift does not touch the category's suppression: the scope must be named.
    const wrongScope = await system.admin('/admin/suppressions/lift', { userId: c.userId, channel: 'email', reasons: ['manual'] });
    expect(await wrongScope.json()).toEqual({ success: true, lifted: 0 });
    const lift = await system.admin('/admin/suppressions/lift', { userId: c.userId, channel: 'email', category: 'promotions', reasons: ['manual'] });
    expect(await lift.json()).toEqual({ success: true, lifted: 1 });
    expect((await c.send('email', 'promotions')).reason).toBe('sent');
  });

  it('refuses a category that is not a marketing category name', async () => {
    const c = await customer();
    for (const category of ['transactional', 'a.b', '$where']) {
      const response = await system.admin('/admin/suppressions', { userId: c.userId, channel: 'email', category, reason: 'manual' });
      expect(response.status).toBe(400);
    }
    expect(await suppressionHistory(system.db.collections.suppressions, c.userId)).toEqual([]);
  });

  it('the CLI adds and lists a category suppression', async () => {
    const c = await customer();
    const add = await runCli(['suppressions', 'add', '--user', c.userId, '--channel', 'sms', '--category', 'promotions', '--reason', 'manual'], system.env);
    expect(add.stdout).toContain(`suppressed ${c.userId} on sms/promotions (manual)`);
    expect((await runCli(['suppressions', 'list', '--user', c.userId], system.env)).stdout).toMatch(/sms\/promotions +manual +active/);
  });
});

describe('consent per category', () => {
  it('a "no" for one category holds back only that category', async () => {
    const c = await customer({ consent: { sms: true, categories: { promotions: { sms: false } } } });
    expect((await c.send('sms', 'promotions')).reason).toBe('no-consent');
    expect((await c.send('sms', 'newsletter')).reason).toBe('sent');
    expect((await c.send('sms', 'transactional')).reason).toBe('sent');
  });

  it('a "yes" for one category is an SMS opt-in for that category alone', async () => {
    const c = await customer({ consent: { categories: { alerts: { sms: true } } } });
    expect((await c.send('sms', 'alerts')).reason).toBe('sent');
    expect((await c.send('sms', 'promotions')).reason).toBe('no-consent');
  });

  it('a channel-wide "no" outweighs a category\'s "yes"', async () => {
    const c = await customer({ consent: { email: false, categories: { newsletter: { email: true } } } });
    expect((await c.send('email', 'newsletter')).reason).toBe('no-consent');
  });

  it('with CONSENT_OPT_IN=email, marketing email needs a recorded "yes"; transactional email never does', async () => {
    const optIn = { CONSENT_OPT_IN: 'email' };
    const silent = await customer();
    expect((await silent.send('email', 'newsletter', optIn)).reason).toBe('no-consent');
    expect((await silent.send('email', 'transactional', optIn)).reason).toBe('sent');
    const subscribed = await customer({ consent: { categories: { newsletter: { email: true } } } });
    expect((await subscribed.send('email', 'newsletter', optIn)).reason).toBe('sent');
    expect((await subscribed.send('email', 'promotions', optIn)).reason).toBe('no-consent');
  });

  it('records category changes from the admin API in the history, beside channel ones', async () => {
    const c = await customer({ consent: { sms: true } });
    const response = await system.admin('/admin/consent', { userId: c.userId, channel: 'sms', category: 'promotions', granted: false, source: 'preference-center' });
    expect(response.status).toBe(201);
    expect((await c.send('sms', 'promotions')).reason).toBe('no-consent');
    const history = await consentHistory(system.db.collections.consentEvents, c.userId);
    expect(history.map((e) => [e.channel, e.category ?? '*', e.granted, e.source])).toEqual([
      ['sms', '*', true, `identify:${system.writeKey}`],
      ['sms', 'promotions', false, 'preference-center'],
    ]);
    const profile = await system.db.collections.profiles.findOne({ _id: c.userId });
    expect(profile?.traits.consent).toEqual({ sms: true, categories: { promotions: { sms: false } } });
  });
});
