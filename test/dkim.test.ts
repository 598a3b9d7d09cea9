/**
 * DKIM: with a key configured, mail is signed and verifies, and the signature covers both RFC 8058
 * one-click headers. Verified with mailauth against the public key served by a stand-in resolver.
 */
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { mergeTraits } from '../store/profiles.js';
import { deliverer, deliveryRequest } from './support/delivery.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false });
});
afterAll(() => system?.close());

it('signs marketing mail, List-Unsubscribe and List-Unsubscribe-Post included', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const config = loadConfig({
    ...system.env,
    EMAIL_FROM: 'Shop <news@shop.example>',
    DKIM_DOMAIN: 'shop.example',
    DKIM_SELECTOR: 'tl2026',
    DKIM_PRIVATE_KEY: pem.replaceAll('\n', '\\n'), // as it would sit in an environment variable
  });
  const userId = uniqueId('signed');
  await mergeTraits(system.db.collections.profiles, userId, { email: `${userId}@example.com` });
  const { deliver, close } = deliverer(config, system.db);
  expect((await deliver(deliveryRequest(userId, { stepId: 'welcome-email', template: 'welcome' }))).reason).toBe('sent');
  await close();

  const [mail] = system.smtp.messagesTo(`${userId}@example.com`);
  const publicKeyBase64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const verified = await dkimVerify(mail.raw, {
    resolver: async (name, rrtype) => {
      if (rrtype === 'TXT' && name === 'tl2026._domainkey.shop.example') return [[`v=DKIM1; k=rsa; p=${publicKeyBase64}`]];
      throw Object.assign(new Error(`no ${rrtype} record for ${name}`), { code: 'ENOTFOUND' });
    },
  });
  const [result] = verified.results;
  expect(result?.status.result).toBe('pass');
  const signed = result!.signingHeaders!.keys.toLowerCase().split(/:\s*/);
  expect(signed).toEqual(expect.arrayContaining(['from', 'subject', 'list-unsubscribe', 'list-unsubscribe-post']));
});
