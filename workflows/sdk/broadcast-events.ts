/**
 * A broadcast that enters a journey, as the journey hears it: one event per recipient and
 * occurrence, named for the broadcast, whose messageId is the recipient's key (broadcasts/sdk/run.ts),
 * so an instance takes it once however often it is handed over. The names are the engine's own:
 * ingestion refuses a track event that takes one, so no CDP can start a broadcast's journey.
 */
export const BROADCAST_EVENT_PREFIX = 'broadcast:';

export const broadcastEvent = (broadcastId: string) => `${BROADCAST_EVENT_PREFIX}${broadcastId}`;

/** The broadcast a broadcast event names; undefined for any other event. */
export const broadcastOfEvent = (name: string): string | undefined => (name.startsWith(BROADCAST_EVENT_PREFIX) ? name.slice(BROADCAST_EVENT_PREFIX.length) : undefined);
