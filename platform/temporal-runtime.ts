/** The Temporal SDK's runtime: its own logs (worker, workflow and activity loggers) through our pino logger, and its metrics. */
import type { Logger as TemporalLogger, LogLevel, LogMetadata } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { logger } from './logger.js';

/** Expected in this design, not worth a warning: the per-channel send workers run activities only. */
const EXPECTED = new Set(['No workflows registered, not polling for workflow tasks']);

class PinoTemporalLogger implements TemporalLogger {
  private readonly pino = logger.child({ component: 'temporal' });

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const method = EXPECTED.has(message) ? 'debug' : (level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error');
    // The SDK names errors `error`; pino serialises them (message, stack) under `err`.
    const { error, ...rest } = meta ?? {};
    this.pino[method](error === undefined ? rest : { ...rest, err: error }, message);
  }
  trace(message: string, meta?: LogMetadata) { this.log('TRACE', message, meta); }
  debug(message: string, meta?: LogMetadata) { this.log('DEBUG', message, meta); }
  info(message: string, meta?: LogMetadata) { this.log('INFO', message, meta); }
  warn(message: string, meta?: LogMetadata) { this.log('WARN', message, meta); }
  error(message: string, meta?: LogMetadata) { this.log('ERROR', message, meta); }
}

/**
 * The SDK's runtime is process-wide and installed once, before the first worker or connection: its
 * logs go through pino, and with `metricsAddress` its own metrics (task queue lag, poll and
 * execution latencies, cache use) are served there for Prometheus.
 */
export function installTemporalRuntime(options: { metricsAddress?: string } = {}): void {
  if (Runtime._instance) return;
  Runtime.install({
    logger: new PinoTemporalLogger(),
    ...(options.metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.metricsAddress } } } } : {}),
  });
}
