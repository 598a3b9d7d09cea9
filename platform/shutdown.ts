/**
 * Graceful shutdown for the server and the worker: on SIGTERM (an orchestrator) or SIGINT (Ctrl-C),
 * drain once, then exit; a drain that overruns its grace is cut short with exit code 1, so a stop
 * never hangs. What a cut leaves undone is retried elsewhere (Temporal, the CDP's own retries).
 */
import { logger } from './logger.js';

export function drainOnSignal(drain: () => Promise<void>, graceMs: number): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) return;
    draining = true;
    logger.info({ signal, graceMs }, 'draining before exit');
    // Past the grace (and a second for the last writes), exit anyway.
    const cut = setTimeout(() => {
      logger.warn({ graceMs }, 'drain overran its grace: exiting now');
      process.exit(1);
    }, graceMs + 1_000);
    cut.unref();
    drain().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
