import { tracing } from './tracing.js';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config.js';

export async function connectTemporal(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const traced = tracing();
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...(traced ? { plugins: [traced.plugin] } : {}) });
}
