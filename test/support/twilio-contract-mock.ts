/**
 * Stoplight Prism serving Twilio's published OpenAPI description (../shared/twilio, kept outside the
 * project): it answers the way the API is specified and refuses requests that break the contract.
 */
import getPort from 'get-port';
import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../stack/paths.js';
import { startProcess, waitForPort, type ManagedProcess } from '../../stack/processes.js';

export const TWILIO_OPENAPI = path.resolve(projectRoot, '..', 'shared', 'twilio', 'twilio_api_v2010.json');

export async function startTwilioContractMock(): Promise<{ url: string; stop(): Promise<void> }> {
  await access(TWILIO_OPENAPI).catch(() => {
    throw new Error(`Twilio's OpenAPI description is not at ${TWILIO_OPENAPI}; the contract test reads it there`);
  });
  const port = await getPort({ host: '127.0.0.1' });
  const prism: ManagedProcess = await startProcess(
    'prism-twilio',
    path.join(projectRoot, 'node_modules', '.bin', 'prism'),
    ['mock', '--host', '127.0.0.1', '--port', String(port), '--errors', TWILIO_OPENAPI],
    path.join(os.tmpdir(), 'throughline-prism'),
  );
  // Prism parses the 1.8 MB description before it listens.
  await waitForPort(prism, '127.0.0.1', port, 120_000);
  return { url: `http://127.0.0.1:${port}`, stop: () => prism.stop() };
}
