/**
 * Binds an HTTP port for a process of ours, or ends the process with one line that says which port
 * is taken and which variable moves it: a stack trace tells someone starting a second worker nothing.
 */
import { logger } from './logger.js';

/** Any Fastify app: only its listen is needed, whatever its logger and server types. */
interface Listener {
  listen(options: { host: string; port: number }): Promise<string>;
}

export async function listenOrExit(app: Listener, at: { host: string; port: number; variable: string }): Promise<string> {
  try {
    return await app.listen({ host: at.host, port: at.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
    const why = code === 'EADDRINUSE' ? 'is in use (another worker or server running?)' : 'may not be bound by this user';
    logger.fatal(`port ${at.port} on ${at.host} ${why}: set ${at.variable} to another port`);
    logger.flush();
    process.exit(1);
  }
}
