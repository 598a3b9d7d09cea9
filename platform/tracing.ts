/**
 * OpenTelemetry traces, off unless an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTLP/HTTP; the exporter reads the other OTEL_* variables
 * itself). One trace follows an event from the inbound HTTP request through Temporal (the client's
 * signalWithStart, the journey workflow, its activities) to the provider call: Temporal's
 * OpenTelemetry plugin carries the context in workflow and activity headers.
 */
import { trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

export interface Tracing {
  /** For the Temporal client and workers of this process. */
  plugin: OpenTelemetryPlugin;
  /** Exports what is pending. */
  flush(): Promise<void>;
}

let active: Tracing | undefined | null = null;

/** This process's tracing, set up once from the environment; undefined when it is off. */
export function tracing(serviceName = process.env.OTEL_SERVICE_NAME ?? 'throughline'): Tracing | undefined {
  if (active !== null) return active;
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT && !process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return (active = undefined);
  const resource = new Resource({ 'service.name': serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // The global tracer and AsyncLocalStorage context, so spans started below nest in the active one.
  provider.register();
  active = { plugin: new OpenTelemetryPlugin({ resource, spanProcessor }), flush: () => provider.forceFlush() };
  return active;
}

const tracer = () => trace.getTracer('throughline');

/** Runs `work` in a span of its own, a child of the active one (a no-op tracer when tracing is off). */
export function inSpan<T>(name: string, attributes: Record<string, string | number>, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err as Error);
      throw err;
    } finally {
      span.end();
    }
  });
}
