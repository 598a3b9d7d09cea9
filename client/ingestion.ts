/**
 * What happens to an accepted event: claimed once per (source, messageId), then identify merges
 * traits into the profile and track is routed to journeys. The claim is marked processed only after
 * the effects are durable, so an event that failed half way is processed in full when it is retried.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../store/db.js';
import { claimInboundEvent, markInboundEventProcessed } from '../store/inbound-events.js';
import { toE164 } from '../activities/phone-number.js';
import { consentIn, recordConsent } from '../store/consent.js';
import { mergeTraits } from '../store/profiles.js';
import type { Router } from './router.js';
import type { IdentifyPayload, TrackPayload } from './segment-schema.js';

export type IngestResult = 'accepted' | 'duplicate';

export interface Ingestion {
  track(source: string, payload: TrackPayload): Promise<IngestResult>;
  identify(source: string, payload: IdentifyPayload): Promise<IngestResult>;
}

/** Journeys follow a person; before we know who they are, the anonymous id stands in. */
function journeyUserId(payload: { userId?: string; anonymousId?: string }): string {
  return payload.userId ?? `anonymous:${payload.anonymousId}`;
}

/** Phones are stored in E.164 when they parse; an unparseable one is kept as given (and never texted). */
function normalisedTraits(traits: Record<string, unknown>, phoneRegion: string): Record<string, unknown> {
  if (typeof traits.phone !== 'string') return traits;
  return { ...traits, phone: toE164(traits.phone, phoneRegion) ?? traits.phone };
}

export function createIngestion(db: Database, route: Router, options: { phoneRegion: string }): Ingestion {
  const { inboundEvents, profiles } = db.collections;

  async function once(source: string, messageId: string, effect: () => Promise<void>): Promise<IngestResult> {
    if (!(await claimInboundEvent(inboundEvents, source, messageId))) return 'duplicate';
    await effect();
    await markInboundEventProcessed(inboundEvents, source, messageId);
    return 'accepted';
  }

  return {
    track(source, payload) {
      const messageId = payload.messageId ?? randomUUID();
      return once(source, messageId, () =>
        route({
          messageId,
          event: payload.event,
          userId: journeyUserId(payload),
          timestamp: payload.timestamp ?? new Date().toISOString(),
          properties: payload.properties,
        }),
      );
    },
    identify(source, payload) {
      const messageId = payload.messageId ?? randomUUID();
      const userId = journeyUserId(payload);
      return once(source, messageId, async () => {
        // Consent goes through its own history; the other traits merge into the profile.
        const { consent: _consent, ...traits } = payload.traits;
        await mergeTraits(profiles, userId, normalisedTraits(traits, options.phoneRegion));
        await recordConsent(db.collections, userId, consentIn(payload.traits), { source: `identify:${source}`, evidence: `messageId ${messageId}` });
      });
    },
  };
}
