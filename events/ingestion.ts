/**
 * What happens to accepted messages: each claimed once per (source, messageId), its person resolved
 * (an anonymous visitor who has been identified is the known customer), then its effects: traits
 * into the profile, holds recorded (store/holds.ts), events routed to journeys, identities merged. Only the claimer acts; a copy of
 * the message, however concurrent or late, does nothing. Claims are marked processed once the effects
 * are durable; one that failed half way is finished by the recovery schedule (`recover`), whose
 * effects are idempotent (journeys drop an event they have seen, and do not start again for it).
 *
 * Messages arrive in batches, and the MongoDB work that does not depend on one message (claims,
 * identity look-ups, marking processed) is one round trip per batch. Messages about the same person
 * (by any of their ids in the batch) run in order; different people run concurrently.
 */
import { randomUUID } from 'node:crypto';
import pMap from 'p-map';
import type { Database } from '../store/db.js';
import { claimInboundEvents, markInboundEventsProcessed, type AbandonedClaim } from '../store/inbound-events.js';
import { linkIdentity, loadIdentityView, markMerged, type IdentityView } from '../store/identities.js';
import { toE164 } from '../activities/phone-number.js';
import { consentIn, recordConsent } from '../store/consent.js';
import { foldProfile, groupTraitKey, mergeTraits } from '../store/profiles.js';
import { recordHoldEvents, type HoldRule } from '../store/holds.js';
import type { Router } from './router.js';
import type { Message, MessageOf } from './segment-schema.js';
import { eventTime } from './event-time.js';
import type { SegmentEngine } from '../segments/engine.js';
import type { BroadcastConversions } from '../broadcasts/conversions.js';

/** People of one batch ingested side by side. */
const PEOPLE_IN_PARALLEL = 32;

export type IngestResult = 'accepted' | 'duplicate';

export interface IngestOptions {
  receivedAt: Date;
  /** Forwarded by a CDP destination, which has already corrected `timestamp` for clock skew. */
  forwarded?: boolean;
}

/** Ingests messages from one source; results by index. Throws if any message could not be acted on. */
export type Ingest = (source: string, messages: Message[], options: IngestOptions) => Promise<IngestResult[]>;

const anonymousPerson = (anonymousId: string) => `anonymous:${anonymousId}`;

/** Every person id a message names; a message naming two (identify, alias) says they are one person. */
function personIdsOf(message: Message): string[] {
  const ids = [message.userId, message.anonymousId && anonymousPerson(message.anonymousId)];
  if (message.type === 'alias') ids.push(anonymousPerson(message.previousId), message.previousId);
  return ids.filter((id): id is string => !!id);
}

/** Groups message indexes by person: union-find over the ids each message names together. */
function byPerson(messages: Message[]): number[][] {
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    const up = parent.get(id) ?? id;
    if (up === id) return id;
    const root = find(up);
    parent.set(id, root);
    return root;
  };
  const ids = messages.map(personIdsOf);
  for (const [first, ...rest] of ids) for (const id of rest) parent.set(find(id), find(first!));
  const groups = new Map<string, number[]>();
  ids.forEach((personIds, index) => {
    const root = find(personIds[0]!);
    groups.set(root, [...(groups.get(root) ?? []), index]);
  });
  return [...groups.values()];
}

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

interface Context {
  at: Date;
  source: string;
  messageId: string;
  identities: IdentityView;
  /** When the message was received (a recovered one: when its first claimer received it). */
  receivedAt: Date;
  /** Recovering an abandoned claim received then: a journey run started since may be its own. */
  startedSince?: Date;
}

export interface Ingestion {
  ingest: Ingest;
  /** `progress` hears of each claim tried (the recovery activity heartbeats with it). */
  recover(claims: AbandonedClaim[], progress?: (tried: number) => void): Promise<RecoveryReport>;
}

/** What a recovery run did; the failed claims stay abandoned and are tried again next run. */
export interface RecoveryReport {
  finished: number;
  failed: { source: string; messageId: string; error: string }[];
}

export interface IngestionOptions {
  phoneRegion: string;
  holdRules: readonly HoldRule[];
  /** Segments kept up to date by each message, before journeys hear of it (they may read them). */
  segments?: SegmentEngine;
  /** Broadcasts' goals, recorded as conversions after the event is routed (broadcasts/conversions.ts). */
  conversions?: BroadcastConversions;
}

export function createIngestion(db: Database, router: Router, options: IngestionOptions): Ingestion {
  const { segments } = options;
  const { inboundEvents, profiles, identities } = db.collections;

  /**
   * An earlier person id (an anonymous visitor, a previous userId) is now `userId`: their profile
   * folds into the customer's and their running journeys carry on for the customer.
   */
  async function merge(personId: string, userId: string, view: IdentityView): Promise<void> {
    const link = await linkIdentity(identities, personId, userId);
    if (link.pending) {
      await foldProfile(profiles, personId, link.userId);
      await router.handOver(personId, link.userId);
      await segments?.merged(personId, link.userId);
      await markMerged(identities, personId);
    }
    view.linked(personId, { userId: link.userId, pending: false });
  }

  /** The person a message is about; a message naming both ids also links them. */
  async function personOf(message: { userId?: string; anonymousId?: string }, view: IdentityView): Promise<string> {
    const anonymous = message.anonymousId ? anonymousPerson(message.anonymousId) : undefined;
    if (!message.userId) return view.resolve(anonymous!)?.userId ?? anonymous!;
    const link = anonymous && view.resolve(anonymous);
    if (anonymous && (!link || link.pending)) await merge(anonymous, message.userId, view);
    return message.userId;
  }

  async function routeEvent(message: { userId?: string; anonymousId?: string }, event: string, properties: Record<string, unknown>, ctx: Context) {
    const userId = await personOf(message, ctx.identities);
    const messageKey = `${ctx.source}:${ctx.messageId}`;
    await segments?.recordEvent(userId, { messageKey, event, at: ctx.at, properties }, `event ${messageKey}`, ctx.receivedAt);
    const journeyEvent = { messageId: ctx.messageId, event, userId, timestamp: ctx.at.toISOString(), properties };
    await router.route(journeyEvent, ctx.identities.earlierIds(userId), ctx.startedSince);
    await options.conversions?.record(journeyEvent);
  }

  const effects: { [T in Message['type']]: (message: MessageOf<T>, ctx: Context) => Promise<void> } = {
    async track(message, ctx) {
      // A hold the event starts is in place before any journey hears of the event.
      if (options.holdRules.length) {
        const userId = await personOf(message, ctx.identities);
        await recordHoldEvents(db.collections.holds, options.holdRules, { userId, event: message.event, messageId: ctx.messageId, at: ctx.at });
      }
      await routeEvent(message, message.event, message.properties, ctx);
    },
    page(message, ctx) {
      const properties = { ...message.properties, ...(message.name ? { name: message.name } : {}), ...(message.category ? { category: message.category } : {}) };
      return routeEvent(message, VIEW_EVENTS[message.type], properties, ctx);
    },
    screen: (message, ctx) => effects.page(message as unknown as MessageOf<'page'>, ctx),
    async identify(message, ctx) {
      const userId = await personOf(message, ctx.identities);
      // Consent goes through its own history; the other traits merge into the profile.
      const { consent: _consent, ...traits } = message.traits;
      await mergeTraits(profiles, userId, normalisedTraits(traits, message.context, options.phoneRegion), ctx.at);
      await recordConsent(db.collections, userId, consentIn(message.traits), { source: `identify:${ctx.source}`, evidence: `messageId ${ctx.messageId}` });
      await segments?.traitsChanged(userId, Object.keys(message.traits), `identify ${ctx.source}:${ctx.messageId}`, ctx.receivedAt);
    },
    async group(message, ctx) {
      // Group traits live on the member's profile under groups.<groupId>, with the same last-write-wins.
      const userId = await personOf(message, ctx.identities);
      await mergeTraits(profiles, userId, { [groupTraitKey(message.groupId)]: message.traits }, ctx.at);
      await segments?.traitsChanged(userId, ['groups'], `group ${ctx.source}:${ctx.messageId}`, ctx.receivedAt);
    },
    async alias(message, ctx) {
      // previousId may be an anonymous id or an earlier userId: both are folded into userId.
      await merge(anonymousPerson(message.previousId), message.userId, ctx.identities);
      if (message.previousId !== message.userId) await merge(message.previousId, message.userId, ctx.identities);
    },
  };

  /**
   * Acts on the messages at `indexes` (each one claimed by this caller) and marks them processed.
   * `recovering`: the claims were abandoned by an earlier claimer, whose effects may be half done.
   */
  const identityViewOf = (messages: Message[]) =>
    loadIdentityView(
      identities,
      messages.flatMap((m) => (m.anonymousId ? [anonymousPerson(m.anonymousId)] : [])),
      messages.flatMap((m) => (m.userId ? [m.userId] : [])),
    );

  async function act(
    source: string,
    messages: Message[],
    messageIds: string[],
    indexes: Set<number>,
    view: IdentityView,
    options: IngestOptions & { recovering?: boolean },
  ) {
    const processed: string[] = [];
    try {
      await pMap(
        byPerson(messages).map((group) => group.filter((index) => indexes.has(index))),
        async (group) => {
          for (const index of group) {
            const message = messages[index]!;
            const at = eventTime(message, options.receivedAt, options.forwarded ?? false);
            const ctx = { at, source, messageId: messageIds[index]!, identities: view, receivedAt: options.receivedAt, startedSince: options.recovering ? options.receivedAt : undefined };
            await (effects[message.type] as (m: Message, c: Context) => Promise<void>)(message, ctx);
            processed.push(messageIds[index]!);
          }
        },
        { concurrency: PEOPLE_IN_PARALLEL },
      );
    } finally {
      // What was done stays done, even if another person's message failed; the rest stay claimed,
      // and the recovery schedule finishes them.
      await markInboundEventsProcessed(inboundEvents, source, processed);
    }
  }

  const ingest: Ingest = async (source, messages, options) => {
    if (!messages.length) return [];
    const messageIds = messages.map((m) => m.messageId ?? randomUUID());
    // A messageId repeated inside the batch is a duplicate of its first occurrence.
    const firstIndex = new Map<string, number>();
    messageIds.forEach((id, index) => firstIndex.has(id) || firstIndex.set(id, index));
    const distinct = [...firstIndex.values()];
    const claimed = await claimInboundEvents(
      inboundEvents,
      source,
      distinct.map((index) => ({ messageId: messageIds[index]!, message: messages[index]! })),
      { receivedAt: options.receivedAt, forwarded: options.forwarded ?? false },
    );
    const ours = new Set(distinct.filter((_, i) => claimed[i]));
    // A batch of copies reads nothing: the failed claims were all it cost.
    if (ours.size) await act(source, messages, messageIds, ours, await identityViewOf(messages), options);
    return messages.map((_, index) => (ours.has(index) ? 'accepted' : 'duplicate'));
  };

  /**
   * Finishes claims whose claimer failed or died: for the recovery schedule, the single writer. Each
   * on its own, so one that keeps failing holds up none of the others; it is tried again next run.
   * Each person's claims in the order they were received, people in parallel as ingestion takes
   * them: a burst whose claims were left (a dependency too slow for the request) is finished at
   * ingestion's pace, not one event at a time.
   */
  async function recover(claims: AbandonedClaim[], progress: (tried: number) => void = () => {}): Promise<RecoveryReport> {
    const failed: RecoveryReport['failed'] = [];
    const messages = claims.map((claim) => claim.message as Message);
    const people = byPerson(messages).map((group) => group.sort((a, b) => claims[a]!.receivedAt.getTime() - claims[b]!.receivedAt.getTime()));
    let tried = 0;
    await pMap(
      people,
      async (group) => {
        for (const index of group) {
          progress(tried++);
          const claim = claims[index]!;
          try {
            const view = await identityViewOf([messages[index]!]);
            await act(claim.source, [messages[index]!], [claim.messageId], new Set([0]), view, { receivedAt: claim.receivedAt, forwarded: claim.forwarded, recovering: true });
          } catch (err) {
            failed.push({ source: claim.source, messageId: claim.messageId, error: (err as Error).message });
          }
        }
      },
      { concurrency: PEOPLE_IN_PARALLEL },
    );
    return { finished: claims.length - failed.length, failed };
  }

  return { ingest, recover };
}
