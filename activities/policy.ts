/**
 * The policy decision every send passes before any provider is called: address, suppression,
 * consent (per channel and category), quiet hours and frequency caps, all read from MongoDB at
 * decision time. If MongoDB cannot be read the decision throws, the activity retries, and nothing is
 * sent on missing data.
 */
import type { ConsentChannel } from '../store/consent.js';
import type { Database } from '../store/db.js';
import { checkRule, insertGrants, releaseGrantsTaken, type CapRule, type GrantDoc, type RuleCheck } from '../store/frequency-grants.js';
import { loadPolicyState, type PolicyState } from '../store/policy-state.js';
import { loadProfile, type Profile } from '../store/profiles.js';
import { isMember } from '../store/segment-memberships.js';
import { suppressionFor, type SuppressionDoc } from '../store/suppressions.js';
import type { HoldDoc, HoldRule } from '../store/holds.js';
import { inGlobalControl } from '../workflows/sdk/split.js';
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
  /** Channels whose marketing needs a recorded opt-in (CONSENT_OPT_IN); the others are opt-out. */
  optInChannels: ConsentChannel[];
  /** GLOBAL_CONTROL_PERCENT: customers who get no marketing at all, the baseline of every journey. */
  globalControlPercent: number;
  /** HOLD_RULES: when promotional messages wait (or are dropped) for everyone's journeys. */
  holdRules: HoldRule[];
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

/**
 * Marketing needs consent. A "no" for the channel or for the message's category always holds it back;
 * an opt-in channel (SMS always, email where configured) needs a recorded "yes" for either.
 */
function hasConsent(request: DeliveryRequest, profile: Profile, optInChannels: readonly ConsentChannel[]): boolean {
  if (request.category === 'transactional') return true;
  const channel: ConsentChannel = request.channel === 'audience' ? 'advertising' : request.channel === 'sms' ? 'sms' : 'email';
  const forChannel = profile.consent[channel];
  const forCategory = profile.consent.categories[request.category]?.[channel];
  if (forChannel === false || forCategory === false) return false;
  return !optInChannels.includes(channel) || forChannel === true || forCategory === true;
}

/** Caps count marketing messages to a person; audience membership is not a message. */
function ruleApplies(rule: CapRule, request: DeliveryRequest): boolean {
  if (request.category === 'transactional' || request.channel === 'audience' || request.channel === 'webhook') return false;
  return (
    (rule.channels ?? ['email', 'sms']).includes(request.channel) &&
    (!rule.categories || rule.categories.includes(request.category)) &&
    !rule.exemptCategories?.includes(request.category) &&
    (!rule.journeys || rule.journeys.includes(request.journeyId))
  );
}

/**
 * Takes a grant under every rule that applies, all or nothing: every rule is checked against the
 * state read with the profile, and the free slots are taken with one insert. The first full rule
 * decides between dropping and deferring, and the grants this attempt took are given back (not those
 * an earlier attempt of the send holds: it may have sent). When a racer took one of our numbers
 * meanwhile, the state is read again and the check repeated.
 */
async function reserveUnderCaps(db: Database, policy: Policy, request: DeliveryRequest, state: PolicyState, now: Date): Promise<Decision> {
  const rules = policy.capRules.filter((rule) => ruleApplies(rule, request));
  if (rules.length === 0) return { allowed: true, holdsGrant: false };
  const heldUntil = new Date(Date.parse(request.firstAttemptAt) + policy.lastSlot.windowMs);
  const yields = policy.lastSlot.windowMs > 0 && (request.priority ?? 0) < policy.lastSlot.highest && heldUntil > now;
  const send = { userId: request.userId, sendKey: request.idempotencyKey };
  const taken: GrantDoc[] = [];
  for (let grants = state.grants; ; grants = (await loadPolicyState(db.collections.policyRecords, request.userId, now)).grants) {
    const checks = rules.map((rule) => ({ rule, check: checkRule(rule, grants, send, now, yields ? heldUntil : undefined) }));
    const blocked = checks.find(({ check }) => check.kind === 'full' || check.kind === 'last-slot-held');
    if (blocked) {
      await releaseGrantsTaken(db.collections.grants, taken);
      return capDecision(blocked.rule, blocked.check as Extract<RuleCheck, { freeAt: Date }>, request);
    }
    const free = checks.flatMap(({ check }) => (check.kind === 'free' ? [check.grant] : []));
    const inserted = await insertGrants(db.collections.grants, free);
    taken.push(...inserted);
    if (inserted.length === free.length) return { allowed: true, holdsGrant: true };
  }
}

function capDecision(rule: CapRule, check: Extract<RuleCheck, { freeAt: Date }>, request: DeliveryRequest): Decision {
  if (check.kind === 'last-slot-held') return defer(`deferred:last-slot:${rule.name}`, check.freeAt);
  if (rule.onCap === 'drop') return deny(`capped:${rule.name}`);
  const waitedMs = check.freeAt.getTime() - Date.parse(request.firstAttemptAt);
  if (waitedMs > (rule.maxDelayMs ?? 0)) return deny(`dropped:cap-expired:${rule.name}`);
  return defer(`deferred:cap:${rule.name}`, check.freeAt);
}

/** A hold that ends early on an event is looked at again this often, not only at its latest end. */
const HOLD_RECHECK_MS = 3_600_000;

/**
 * The first hold in force, by the rules' order: dropped, or deferred to when it ends (a hold that an
 * event may end early, such as a resolved ticket, is looked at again within the hour).
 */
function holdDecision(rules: readonly HoldRule[], holds: readonly HoldDoc[], now: Date): Decision | undefined {
  for (const rule of rules) {
    const mine = holds.filter((h) => h.rule === rule.name);
    if (mine.length === 0) continue;
    if (rule.action === 'drop') return deny(`held:${rule.name}`);
    const ends = Math.max(...mine.map((h) => h.until.getTime()));
    return defer(`deferred:held:${rule.name}`, new Date(rule.endOn ? Math.min(ends, now.getTime() + HOLD_RECHECK_MS) : ends));
  }
  return undefined;
}

/**
 * The decision for one send. Reads the profile and the customer's policy state in parallel (two
 * queries, one wait; a broadcast's send reads its segment membership in the same wait), then takes
 * cap grants with one insert.
 */
export async function decide(db: Database, policy: Policy, request: DeliveryRequest, now: Date): Promise<{ decision: Decision; profile?: Profile }> {
  // Taking someone out of an audience is always allowed: it only ever reduces what they receive.
  if (request.channel === 'audience' && request.action === 'remove') {
    return { decision: { allowed: true, holdsGrant: false }, profile: await loadProfile(db.collections.profiles, request.userId) };
  }
  const [profile, state, member] = await Promise.all([
    loadProfile(db.collections.profiles, request.userId),
    loadPolicyState(db.collections.policyRecords, request.userId, now),
    // A broadcast's recipient who left its segment since the audience was taken gets nothing.
    request.onlyIfMemberOf ? isMember(db.collections.segmentMembers, request.onlyIfMemberOf, request.userId) : true,
  ]);
  if (!member) return { decision: deny('not-in-segment'), profile };
  const suppression = suppressionFor(state.suppressions, request);
  // A call to a system: only a suppression that holds transactional messages (erasure) stops it.
  if (request.channel === 'webhook') return { decision: suppression ? deny(`suppressed:${suppression.reason}`) : { allowed: true, holdsGrant: false }, profile };
  return { decision: await decideMessage(db, policy, request, profile, state, suppression, now), profile };
}

async function decideMessage(
  db: Database,
  policy: Policy,
  request: DeliveryRequest,
  profile: Profile | undefined,
  state: PolicyState,
  suppression: SuppressionDoc | undefined,
  now: Date,
): Promise<Decision> {
  if (!profile) return deny('no-profile');
  if (!hasAddress(request, profile)) return deny('no-address');
  // Rejected before any provider call: an invalid number would only fail (and cost) at Twilio.
  if (request.channel === 'sms' && !toE164(profile.phone!)) return deny('invalid-address');
  if (suppression) return deny(`suppressed:${suppression.reason}${suppression.category ? `:${suppression.category}` : ''}`);
  if (!hasConsent(request, profile, policy.optInChannels)) return deny('no-consent');
  const transactional = request.category === 'transactional';
  if (!transactional) {
    if (inGlobalControl(request.userId, policy.globalControlPercent)) return deny('held:global-control');
    const held = holdDecision(policy.holdRules, state.holds, now);
    if (held) return held;
  }
  const quiet = (request.channel === 'email' || request.channel === 'sms') && !transactional ? policy.quietHours[request.channel] : undefined;
  if (quiet) {
    const zone = isValidZone(profile.timezone) ? profile.timezone : policy.defaultTimeZone;
    const opensAt = quietHoursEnd(now, zone, quiet);
    if (opensAt) return defer('deferred:quiet-hours', opensAt);
  }
  return reserveUnderCaps(db, policy, request, state, now);
}
