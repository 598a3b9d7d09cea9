/**
 * The secrets `npm start` keeps in its data folder (secrets.json, mode 0600): generated once, so
 * links, sessions and sealed payloads stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { newPayloadKey } from '../platform/payload-codec.js';

const secretsFile = (dir: string) => path.join(dir, 'secrets.json');

/**
 * Generated once and kept in the data folder (mode 0600), so links and keys stay valid across
 * restarts; a secret a newer version needs is added to an existing file.
 */
export async function keptSecrets(dir: string, log: Logger): Promise<Record<string, string>> {
  const file = secretsFile(dir);
  let stored: Record<string, string> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fresh = {
    WRITE_KEYS: `wk_${randomBytes(12).toString('hex')}`,
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    UNSUBSCRIBE_SECRET: randomBytes(32).toString('base64url'),
    AUDIENCE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
    BOUNCE_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    SEGMENT_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    RUDDERSTACK_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    CONSOLE_SECRET: randomBytes(32).toString('base64url'),
    // Seals what Temporal keeps (platform/payload-codec.ts); the CLI reads it from here too.
    PAYLOAD_KEYS: newPayloadKey(),
    // The console's first operator, "admin" (see CONSOLE_USERS to add people).
    CONSOLE_ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
    // A browser source's key is public (it goes in the page); kept so the page's snippet stays valid.
    BROWSER_WRITE_KEY: `wk_web_${randomBytes(12).toString('hex')}`,
  };
  const missing = Object.keys(fresh).filter((name) => !(name in stored));
  if (missing.length === 0) return stored;
  const kept = { ...fresh, ...stored };
  await mkdir(dir, { recursive: true });
  await writeFile(file, `${JSON.stringify(kept, null, 2)}\n`, { mode: 0o600 });
  log.info({ file, added: missing }, 'generated secrets for this machine');
  return kept;
}

/**
 * The payload keys kept in the data folder, if `npm start` has run on it: so the CLI on that machine
 * reads what the worker sealed without the key being printed or typed.
 */
export async function keptPayloadKeys(dir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(secretsFile(dir), 'utf8')) as Record<string, string>).PAYLOAD_KEYS;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
