import pino from 'pino';
import pretty from 'pino-pretty';

/**
 * One structured logger for every process. LOG_LEVEL sets its level; LOG_FORMAT=pretty prints
 * human-readable lines (the demo and the CLI), otherwise JSON lines for log collectors.
 */
const options = { level: process.env.LOG_LEVEL ?? 'info', base: { service: 'throughline' } };

export const logger =
  process.env.LOG_FORMAT === 'pretty'
    ? pino(options, pretty({ ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss', singleLine: true, sync: true }))
    : pino(options);

/** Progress of the embedded stack (installs, server starts) is worth seeing even when logs are quiet. */
export const stackLogger = logger.child({ component: 'stack' }, { level: 'info' });
