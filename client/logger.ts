import pino from 'pino';

/** One structured logger for every process; LOG_LEVEL sets its level. */
export const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'throughline' } });
