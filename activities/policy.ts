/**
 * The policy decision every send passes before any provider is called: address, suppression,
 * consent and the frequency cap, all read from MongoDB at decision time. If MongoDB cannot be read
 * the decision throws, the activity retries, and nothing is sent on missing data.
 */
import type { Database } from '../store/db.js';
import { reserveGrant, type CapRule } from '../store/frequency-grants.js';
import type { Profile } from '../store/profiles.js';
import { findActiveSuppression } from '../store/suppressions.js';
import type { DeliveryOutcome, DeliveryRequest } from '../workflows/sdk/types.js';

export type Decision = { allowed: true; holdsGrant: boolean } | { allowed: false; outcome: DeliveryOutcome };

const deny = (reason: string): Decision => ({ allowed: false, outcome: { delivered: false, reason } });

/** Messages to a person count against caps; audience membership is not a message. */
function countsAgainstCap(request: DeliveryRequest): boolean {
  return request.category !== 'transactional' && request.channel !== 'audience';
}

function hasAddress(request: DeliveryRequest, profile: Profile): boolean {
  if (request.channel === 'email') return profile.email !== undefined;
  if (request.channel === 'sms') return profile.phone !== undefined;
  return profile.email !== undefined || profile.phone !== undefined;
}

/** SMS marketing needs a recorded opt-in; email and ads are opt-out. */
function hasConsent(request: DeliveryRequest, profile: Profile): boolean {
  if (request.category === 'transactional') return true;
  if (request.channel === 'sms') return profile.consent.sms === true;
  if (request.channel === 'email') return profile.consent.email !== false;
  return profile.consent.advertising !== false;
}

export async function decide(
  db: Database,
  capRule: CapRule,
  request: DeliveryRequest,
  profile: Profile | undefined,
  now: Date,
): Promise<Decision> {
  // Taking someone out of an audience is always allowed: it only ever reduces what they receive.
  if (request.channel === 'audience' && request.action === 'remove') return { allowed: true, holdsGrant: false };
  if (!profile) return deny('no-profile');
  if (!hasAddress(request, profile)) return deny('no-address');
  const transactional = request.category === 'transactional';
  const suppression = await findActiveSuppression(db.collections.suppressions, request.userId, request.channel, transactional);
  if (suppression) return deny(`suppressed:${suppression.reason}`);
  if (!hasConsent(request, profile)) return deny('no-consent');
  if (!countsAgainstCap(request)) return { allowed: true, holdsGrant: false };
  const granted = await reserveGrant(db.collections.grants, capRule, request.userId, request.idempotencyKey, now);
  return granted ? { allowed: true, holdsGrant: true } : deny(`capped:${capRule.name}`);
}
