/**
 * Prometheus metrics (prom-client), one registry per process: the ingestion server and each worker
 * serve theirs on /metrics (platform/ops-routes.ts). Labels stay bounded: routes, channels, and the
 * ledger's reasons, which come from a fixed set.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'throughline_' });

export const eventsTotal = new Counter({
  name: 'throughline_events_total',
  help: 'Events received, by route and outcome: accepted, duplicate (a copy of one already taken), rejected (bad input, 4xx), unavailable (a dependency down, 503)',
  labelNames: ['route', 'outcome'] as const,
  registers: [registry],
});

export const routingSeconds = new Histogram({
  name: 'throughline_event_routing_seconds',
  help: 'Time to route one event to its journeys (Temporal signalWithStart / signal calls)',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const deliveryDecisions = new Counter({
  name: 'throughline_delivery_decisions_total',
  help: 'Final delivery decisions, by channel, outcome (sent, suppressed, capped, deferred, failed, unknown-outcome…) and full ledger reason',
  labelNames: ['channel', 'outcome', 'reason'] as const,
  registers: [registry],
});

export const providerSeconds = new Histogram({
  name: 'throughline_provider_request_seconds',
  help: 'Provider calls after the hand-over (SMTP, Twilio, audience platforms, webhooks), by channel',
  labelNames: ['channel'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const providerErrors = new Counter({
  name: 'throughline_provider_errors_total',
  help: 'Provider calls that failed after the hand-over, by channel and kind: not-sent (retried), permanent (recorded), unknown (left for an operator)',
  labelNames: ['channel', 'kind'] as const,
  registers: [registry],
});

export const unknownOutcomes = new Counter({
  name: 'throughline_unknown_outcomes_total',
  help: 'Sends whose outcome is unknown (the provider may have the message): never sent again by themselves, see `unknown list`',
  labelNames: ['channel'] as const,
  registers: [registry],
});

export const capGrants = new Counter({
  name: 'throughline_frequency_cap_grants_total',
  help: 'Frequency-cap slots granted to marketing sends, by channel',
  labelNames: ['channel'] as const,
  registers: [registry],
});

/** The outcome label of a ledger reason: its part before the first ':' ("suppressed:unsubscribe" → "suppressed"). */
export const reasonKind = (reason: string) => reason.split(':')[0]!;
