/** Consent: an append-only history with the current state on the profile, which the policy reads. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { consentHistory } from '../store/consent.js';
import type { DeliveryRequest } from '../workflows/sdk/types.js';
import { deliverer, deliveryRequest } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false });
});
afterAll(() => system?.close());

it('keeps every change with its evidence, merges partial updates, and the decision follows the current state', async () => {
  const userId = uniqueId('consent');
  await system.identify(userId, { email: `${userId}@example.com`, phone: '+14155558888', consent: { sms: true } }, 'opt-in-1');
  await system.identify(userId, { consent: { email: false } }, 'prefs-2'); // must not forget the SMS opt-in
  const profile = await system.db.collections.profiles.findOne({ _id: userId });
  expect(profile?.traits.consent).toEqual({ sms: true, email: false });

  const sms = (stepId: string) => deliveryRequest(userId, { stepId, channel: 'sms', template: 'cart-reminder-sms' } as Partial<DeliveryRequest>);
  const { deliver } = deliverer(system.config, system.db);
  expect((await deliver(sms('sms-1'))).reason).toBe('sent');

  const revoked = await system.admin('/admin/consent', { userId, channel: 'sms', granted: false, source: 'support-ticket', evidence: 'ticket 4711' });
  expect(revoked.status).toBe(201);
  expect((await deliver(sms('sms-2'))).reason).toBe('no-consent');

  const history = await consentHistory(system.db.collections.consentEvents, userId);
  expect(history.map((e) => [e.channel, e.granted, e.source, e.evidence])).toEqual([
    ['sms', true, `identify:${system.writeKey}`, 'messageId opt-in-1'],
    ['email', false, `identify:${system.writeKey}`, 'messageId prefs-2'],
    ['sms', false, 'support-ticket', 'ticket 4711'],
  ]);
});
