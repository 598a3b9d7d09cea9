/**
 * What happens to an accepted message: claimed once per (source, messageId), its person resolved
 * (an anonymous visitor who has been identified is the known customer), then its effects: traits
 * into the profile, events routed to journeys, identities merged. The claim is marked processed
 * only after the effects are durable, so a message that failed half way is processed in full when
 * the CDP retries it (every effect downstream is idempotent).
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../store/db.js';
import { claimInboundEvent, markInboundEventProcessed } from '../store/inbound-events.js';
import { linkIdentity, markMerged, resolveIdentity } from '../store/identities.js';
import { toE164 } from '../activities/phone-number.js';
import { consentIn, recordConsent } from '../store/consent.js';
import { foldProfile, mergeTraits } from '../store/profiles.js';
import type { Router } from './router.js';
import type { Message, MessageOf } from './segment-schema.js';
import { eventTime } from './event-time.js';

export type IngestResult = 'accepted' | 'duplicate';

export interface IngestOptions {
  receivedAt: Date;
  /** Forwarded by a CDP destination, which has already corrected `timestamp` for clock skew. */
  forwarded?: boolean;
}

export type Ingest = (source: string, message: Message, options: IngestOptions) => Promise<IngestResult>;

const anonymousPerson = (anonymousId: string) => `anonymous:${anonymousId}`;

/**
 * Phones are stored in E.164 when they parse; an unparseable one is kept as given (and never texted).
 * A national number is read in the country of the sender's locale (context.locale "en-GB": GB),
 * else in the configured default region.
 */
function normalisedTraits(traits: Record<string, unknown>, context: Record<string, unknown> | undefined, defaultRegion: string) {
  if (typeof traits.phone !== 'string') return traits;
  const localeRegion = typeof context?.locale === 'string' ? /^[a-z]{2,3}[-_]([A-Z]{2})\b/i.exec(context.locale)?.[1] : undefined;
  return { ...traits, phone: toE164(traits.phone, localeRegion?.toUpperCase() ?? defaultRegion) ?? traits.phone };
}

/** What a page or screen view is called when journeys listen for it. */
const VIEW_EVENTS = { page: 'Page Viewed', screen: 'Screen Viewed' } as const;

export function createIngestion(db: Database, router: Router, options: { phoneRegion: string }): Ingest {
  const { inboundEvents, profiles, identities } = db.collections;

  /**
   * An earlier person id (an anonymous visitor, a previous userId) is now `userId`: their profile
   * folds into the customer's and their running journeys carry on for the customer.
   */
  async function merge(personId: string, userId: string): Promise<void> {
    const link = await linkIdentity(identities, personId, userId);
    if (!link.pending) return;
    await foldProfile(profiles, personId, link.userId);
    await router.handOver(personId, link.userId);
    await markMerged(identities, personId);
  }

  /** The person a message is about; a message naming both ids also links them. */
  async function personOf(message: { userId?: string; anonymousId?: string }): Promise<string> {
    const anonymous = message.anonymousId ? anonymousPerson(message.anonymousId) : undefined;
    if (!message.userId) return (await resolveIdentity(identities, anonymous!))?.userId ?? anonymous!;
    if (anonymous) {
      // Most events of a signed-in visitor name both ids: one read confirms the merge is done.
      const link = await resolveIdentity(identities, anonymous);
      if (!link || link.pending) await merge(anonymous, message.userId);
    }
    return message.userId;
  }

  async function setTraits(message: MessageOf<'identify'>, userId: string, at: Date, source: string, messageId: string) {
    // Consent goes through its own history; the other traits merge into the profile.
    const { consent: _consent, ...rest } = message.traits;
    await mergeTraits(profiles, userId, normalisedTraits(rest, message.context, options.phoneRegion), at);
    await recordConsent(db.collections, userId, consentIn(message.traits), { source: `identify:${source}`, evidence: `messageId ${messageId}` });
  }

  const effects: { [T in Message['type']]: (message: MessageOf<T>, at: Date, source: string, messageId: string) => Promise<void> } = {
    async track(message, at, _source, messageId) {
      const userId = await personOf(message);
      await router.route({ messageId, event: message.event, userId, timestamp: at.toISOString(), properties: message.properties });
    },
    async identify(message, at, source, messageId) {
      await setTraits(message, await personOf(message), at, source, messageId);
    },
    async page(message, at, _source, messageId) {
      const userId = await personOf(message);
      const properties = { ...message.properties, ...(message.name ? { name: message.name } : {}), ...(message.category ? { category: message.category } : {}) };
      await router.route({ messageId, event: VIEW_EVENTS[message.type], userId, timestamp: at.toISOString(), properties });
    },
    screen(message, at, source, messageId) {
      return effects.page(message as unknown as MessageOf<'page'>, at, source, messageId);
    },
    async group(message, at) {
      // Group traits live on the member's profile under groups.<groupId>, with the same last-write-wins.
      await mergeTraits(profiles, await personOf(message), { [`groups.${message.groupId}`]: message.traits }, at);
    },
    async alias(message) {
      // previousId may be an anonymous id or an earlier userId: both are folded into userId.
      await merge(anonymousPerson(message.previousId), message.userId);
      if (message.previousId !== message.userId) await merge(message.previousId, message.userId);
    },
  };

  return async (source, message, { receivedAt, forwarded = false }) => {
    const messageId = message.messageId ?? randomUUID();
    if (!(await claimInboundEvent(inboundEvents, source, messageId))) return 'duplicate';
    const at = eventTime(message, receivedAt, forwarded);
    await (effects[message.type] as (m: Message, at: Date, source: string, messageId: string) => Promise<void>)(message, at, source, messageId);
    await markInboundEventProcessed(inboundEvents, source, messageId);
    return 'accepted';
  };
}
