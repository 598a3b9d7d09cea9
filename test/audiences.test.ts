/**
 * Retargeting audiences on the real stack: journeys set membership in MongoDB, the scheduled sync
 * takes it to a Standard-Webhooks receiver and to a Meta Custom Audiences stand-in in batches, with
 * only hashed identifiers (after Meta's normalisation) leaving the process, and consent respected.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitUntil } from '../stack/wait-until.js';
import { mergeTraits } from '../store/profiles.js';
import { startMetaStandIn, type MetaStandIn } from './support/meta-standin.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

const META_AUDIENCE = '23850000000000001';
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

let system: TestSystem;
let meta: MetaStandIn;
beforeAll(async () => {
  meta = await startMetaStandIn('meta-test-token');
  system = await startTestSystem({
    journeySettings: { cartAbandonment: { reminderDelay: '1s', orderWindow: '1s', retargetFor: '4s' } },
    env: { META_ACCESS_TOKEN: 'meta-test-token', META_AUDIENCES: JSON.stringify({ 'cart-abandoners': META_AUDIENCE }), META_API_BASE_URL: meta.url },
  });
});
afterAll(async () => {
  await system?.close();
  await meta?.close();
});

it('adds an abandoner to both platforms, hashed as Meta wants, and takes them out when retargeting ends', async () => {
  const userId = uniqueId('aud');
  await mergeTraits(system.db.collections.profiles, userId, { email: '  Ana.Lopez@Example.COM ', phone: '+44 7911 123456', consent: { sms: true } });
  await system.track(userId, 'Checkout Started', { cart_id: 'c1' });

  const emailHash = sha256('ana.lopez@example.com');
  await waitUntil(() => meta.members(META_AUDIENCE).includes(emailHash) && system.audiences.members('cart-abandoners').includes(userId), 30_000, 'audience add on both platforms');
  const added = meta.calls.find((c) => c.method === 'POST' && c.rows.some(([email]) => email === emailHash))!;
  expect(added.rows).toContainEqual([emailHash, sha256('447911123456')]);
  const webhookAdd = system.audiences.calls.find((c) => c.userId === userId && c.type === 'audience.member.added')!;
  expect(webhookAdd).toMatchObject({ emailSha256: emailHash, phoneSha256: sha256('447911123456') });
  expect(JSON.stringify(system.audiences.calls)).not.toContain('Example.COM');

  await waitUntil(() => !meta.members(META_AUDIENCE).includes(emailHash) && !system.audiences.members('cart-abandoners').includes(userId), 30_000, 'audience removal on both platforms');
  expect(meta.calls.some((c) => c.method === 'DELETE' && c.rows.some(([email]) => email === emailHash))).toBe(true);
  expect(system.audiences.rejected).toBe(0);
});

it('leaves out a customer who said no to advertising', async () => {
  const userId = uniqueId('noads');
  const email = `${userId}@example.com`;
  await mergeTraits(system.db.collections.profiles, userId, { email, consent: { advertising: false } });
  await system.track(userId, 'Checkout Started', { cart_id: 'c2' });
  expect(await system.settledReasons(userId, 3)).toContain('add-to-retargeting:no-consent');
  expect(await system.db.collections.audienceMembers.findOne({ userId })).toBeNull();
  expect(meta.members(META_AUDIENCE)).not.toContain(sha256(email));
});
