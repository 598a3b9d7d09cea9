/**
 * The policy decision every send passes before any provider is called: address, suppression,
 * consent, quiet hours and frequency caps, all read from MongoDB at decision time. If MongoDB cannot
 * be read the decision throws, the activity retries, and nothing is sent on missing data.
 */
import type { Database } from '../store/db.js';
import { releaseGrants, reserveGrant, type CapRule } from '../store/frequency-grants.js';
import type { Profile } from '../store/profiles.js';
import { findActiveSuppression } from '../store/suppressions.js';
import { isValidZone } from '../workflows/sdk/local-time.js';
import type { DeliveryOutcome, DeliveryRequest, MessageChannel } from '../workflows/sdk/types.js';
import { toE164 } from './phone-number.js';
import { quietHoursEnd, type QuietHours } from './quiet-hours.js';

export interface Policy {
  capRules: CapRule[];
  quietHours: Partial<Record<MessageChannel, QuietHours>>;
  /** For recipients whose profile has no valid time zone. */
  defaultTimeZone: string;
  /**
   * Priority for a cap's last slot: a send below `highest` (the top priority among deployed journeys)
   * may take a window's last slot only once it has waited `windowMs`, so a higher-priority journey
   * that wants the slot meanwhile gets it. Off when windowMs is 0.
   */
  lastSlot: { windowMs: number; highest: number };
}

export type Decision = { allowed: true; holdsGrant: boolean } | { allowed: false; outcome: DeliveryOutcome };

const deny = (reason: string): Decision => ({ allowed: false, outcome: { delivered: false, reason } });
const defer = (reason: string, until: Date): Decision => ({
  allowed: false,
  outcome: { delivered: false, reason: `${reason} until ${until.toISOString()}`, deferUntil: until.toISOString() },
});

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

/** Caps count marketing messages to a person; audience membership is not a message. */
function ruleApplies(rule: CapRule, request: DeliveryRequest): boolean {
  if (request.category === 'transactional' || request.channel === 'audience' || request.channel === 'webhook') return false;
  return (
    (rule.channels ?? ['email', 'sms']).includes(request.channel) &&
    (!rule.categories || rule.categories.includes(request.category)) &&
    (!rule.journeys || rule.journeys.includes(request.journeyId))
  );
}

/**
 * Takes a grant under every rule that applies. All or nothing: at the first full rule the grants
 * already taken are given back, and that rule decides between dropping and deferring.
 */
async function reserveUnderCaps(db: Database, policy: Policy, request: DeliveryRequest, now: Date): Promise<Decision> {
  const rules = policy.capRules.filter((rule) => ruleApplies(rule, request));
  const heldUntil = new Date(Date.parse(request.firstAttemptAt) + policy.lastSlot.windowMs);
  const yields = policy.lastSlot.windowMs > 0 && (request.priority ?? 0) < policy.lastSlot.highest && heldUntil > now;
  for (const rule of rules) {
    const reservation = await reserveGrant(db.collections.grants, rule, request.userId, request.idempotencyKey, now, yields ? heldUntil : undefined);
    if (reservation.granted) continue;
    await releaseGrants(db.collections.grants, request.idempotencyKey);
    if (reservation.lastSlotHeld) return defer(`deferred:last-slot:${rule.name}`, reservation.freeAt);
    if (rule.onCap === 'drop') return deny(`capped:${rule.name}`);
    const waitedMs = reservation.freeAt.getTime() - Date.parse(request.firstAttemptAt);
    if (waitedMs > (rule.maxDelayMs ?? 0)) return deny(`dropped:cap-expired:${rule.name}`);
    return defer(`deferred:cap:${rule.name}`, reservation.freeAt);
  }
  return { allowed: true, holdsGrant: rules.length > 0 };
}

export async function decide(
  db: Database,
  policy: Policy,
  request: DeliveryRequest,
  profile: Profile | undefined,
  now: Date,
): Promise<Decision> {
  // A call to a system: only a suppression of everything (erasure) or of webhooks holds it back.
  if (request.channel === 'webhook') {
    const suppression = await findActiveSuppression(db.collections.suppressions, request.userId, 'webhook', true);
    return suppression ? deny(`suppressed:${suppression.reason}`) : { allowed: true, holdsGrant: false };
  }
  // Taking someone out of an audience is always allowed: it only ever reduces what they receive.
  if (request.channel === 'audience' && request.action === 'remove') return { allowed: true, holdsGrant: false };
  if (!profile) return deny('no-profile');
  if (!hasAddress(request, profile)) return deny('no-address');
  // Rejected before any provider call: an invalid number would only fail (and cost) at Twilio.
  if (request.channel === 'sms' && !toE164(profile.phone!)) return deny('invalid-address');
  const transactional = request.category === 'transactional';
  const suppression = await findActiveSuppression(db.collections.suppressions, request.userId, request.channel, transactional);
  if (suppression) return deny(`suppressed:${suppression.reason}`);
  if (!hasConsent(request, profile)) return deny('no-consent');
  const quiet = request.channel !== 'audience' && !transactional ? policy.quietHours[request.channel] : undefined;
  if (quiet) {
    const zone = isValidZone(profile.timezone) ? profile.timezone : policy.defaultTimeZone;
    const opensAt = quietHoursEnd(now, zone, quiet);
    if (opensAt) return defer('deferred:quiet-hours', opensAt);
  }
  return reserveUnderCaps(db, policy, request, now);
}
