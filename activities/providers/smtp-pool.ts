/**
 * Pooled SMTP connections, opened and greeted before a message is handed to them. nodemailer's own
 * pool opens the connection inside `sendMail`, so a caller cannot tell a refused connection (certainly
 * not sent) from a reset after the message went out (maybe sent), nor take the ledger's claim only
 * once a connection is free. Here a send waits for a ready connection, and only then calls its
 * `use` function: the claim is taken there, and what fails after it is the send's own fault.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import pLimit from 'p-limit';

export interface SmtpPoolOptions {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://… (TLS from the start). */
  url: string;
  size: number;
  /** How long to wait to connect, for the greeting, or for any answer. */
  timeoutMs: number;
  /** At most this many messages a second through this pool. */
  ratePerSecond?: number;
}

export interface SmtpPool {
  /** Runs `use` on an open connection: at most `size` at once, the others wait for a free one. */
  use<T>(use: (connection: SMTPConnection) => Promise<T>): Promise<T>;
  close(): void;
}

export function createSmtpPool(options: SmtpPoolOptions): SmtpPool {
  const url = new URL(options.url);
  const secure = url.protocol === 'smtps:';
  const auth = url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined;
  const host = url.hostname;
  const port = Number(url.port) || (secure ? 465 : 587);
  const limit = pLimit(options.size);
  const idle: SMTPConnection[] = [];
  const closed = new WeakSet<SMTPConnection>();
  let nextSlot = 0;

  function open(): Promise<SMTPConnection> {
    return new Promise((resolve, reject) => {
      // Nagle's algorithm holds each message's second chunk until the server's delayed ACK, about
      // 40 ms a mail; a no-delay socket sends ~7x faster. (STARTTLS still upgrades this socket.)
      const socket = secure ? undefined : net.connect({ host, port, noDelay: true });
      const connection = new SMTPConnection({
        host, port, secure, connection: socket,
        connectionTimeout: options.timeoutMs, greetingTimeout: options.timeoutMs, socketTimeout: options.timeoutMs,
      });
      // An error or close at any time marks it unusable; a send in flight hears of it itself.
      connection.on('error', () => closed.add(connection));
      connection.once('end', () => closed.add(connection));
      const failed = (err: Error) => {
        connection.close();
        reject(err);
      };
      connection.once('error', failed);
      connection.connect(() => {
        const ready = () => {
          connection.off('error', failed);
          resolve(connection);
        };
        if (!auth) return ready();
        connection.login(auth, (err) => (err ? failed(err) : ready()));
      });
    });
  }

  async function take(): Promise<SMTPConnection> {
    for (let connection = idle.pop(); connection; connection = idle.pop()) {
      if (!closed.has(connection)) return connection;
    }
    return open();
  }

  async function waitForRate(): Promise<void> {
    if (!options.ratePerSecond) return;
    const now = Date.now();
    const slot = Math.max(now, nextSlot);
    nextSlot = slot + 1000 / options.ratePerSecond;
    if (slot > now) await sleep(slot - now);
  }

  return {
    use: (use) =>
      limit(async () => {
        await waitForRate();
        const connection = await take();
        try {
          const result = await use(connection);
          idle.push(connection);
          return result;
        } catch (err) {
          connection.close(); // its state after a failure is unknown: never reuse it
          throw err;
        }
      }),
    close() {
      limit.clearQueue();
      for (const connection of idle.splice(0)) connection.quit();
    },
  };
}

/**
 * Sends one message on an open connection. SMTPConnection reports a timeout or a reset as an 'error'
 * or 'end' event rather than through the send's callback, so all three are listened to.
 */
export function sendOn(connection: SMTPConnection, envelope: SMTPConnection.Envelope, raw: Buffer): Promise<SMTPConnection.SentMessageInfo> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, info?: SMTPConnection.SentMessageInfo) => {
      if (settled) return;
      settled = true;
      connection.off('error', onError);
      connection.off('end', onEnd);
      if (err) reject(err);
      else resolve(info!);
    };
    const onError = (err: Error) => finish(err);
    const onEnd = () => finish(new Error('the SMTP connection closed before the server answered'));
    connection.on('error', onError);
    connection.once('end', onEnd);
    connection.send(envelope, raw, (err, info) => finish(err ?? null, info));
  });
}
