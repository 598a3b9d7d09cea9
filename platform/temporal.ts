import { tracing } from './tracing.js';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config.js';
import { sealedDataConverter } from './payload-codec.js';

/** A client whose payloads are sealed with PAYLOAD_KEYS (see payload-codec.ts), when there are any. */
export async function connectTemporal(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'PAYLOAD_KEYS'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const traced = tracing();
  const dataConverter = sealedDataConverter(config.PAYLOAD_KEYS);
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...(dataConverter ? { dataConverter } : {}), ...(traced ? { plugins: [traced.plugin] } : {}) });
}
