/**
 * OpenTelemetry: with an OTLP endpoint configured, one event is one trace, from the inbound HTTP
 * request through the workflow to the provider call, exported over OTLP/HTTP to a collector (here a
 * receiver that keeps what it is sent).
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tracing } from '../platform/tracing.js';
import { waitUntil } from '../stack/wait-until.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}
interface TraceExport {
  resourceSpans: Array<{ scopeSpans: Array<{ spans: ExportedSpan[] }> }>;
}

const spans: ExportedSpan[] = [];
const collector = Fastify();
collector.post('/v1/traces', async (request) => {
  for (const resource of (request.body as TraceExport).resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
  return {};
});

let system: TestSystem;
beforeAll(async () => {
  const url = await collector.listen({ host: '127.0.0.1', port: 0 });
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = url;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
  // Traced workflows carry the OpenTelemetry interceptors in their bundle: built from source here.
  system = await startTestSystem({ workflowBundlePath: undefined, journeySettings: { cartAbandonment: { reminderDelay: '1s' } } });
});
afterAll(async () => {
  await system?.close();
  await collector.close();
});

it('follows one event from the HTTP request through the journey workflow to the SMTP send', async () => {
  const userId = uniqueId('traced');
  await system.identify(userId, { email: `${userId}@example.com` });
  await system.track(userId, 'Checkout Started', { cart_id: 'c-traced' });
  await waitUntil(async () => system.smtp.messagesTo(`${userId}@example.com`).length === 1, 30_000, 'the reminder');

  const names = ['POST /v1/track', 'SignalWithStartWorkflow:journey', 'StartActivity:deliver', 'RunActivity:deliver', 'provider send email'];
  const traceOf = (name: string) => spans.find((s) => s.name === name)?.traceId;
  await waitUntil(async () => {
    await tracing()!.flush();
    return names.every(traceOf);
  }, 20_000, `spans ${names.join(', ')}`);

  const track = spans.find((s) => s.name === 'POST /v1/track')!;
  const inTrace = spans.filter((s) => s.traceId === track.traceId).map((s) => s.name);
  expect(inTrace).toEqual(expect.arrayContaining(names));
  // The provider call is a child of the delivery activity, in that same trace.
  const send = spans.find((s) => s.name === 'provider send email' && s.traceId === track.traceId)!;
  expect(spans.find((s) => s.spanId === send.parentSpanId)?.name).toBe('RunActivity:deliver');
});
