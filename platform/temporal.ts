import { tracing } from './tracing.js';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import type { Config } from '../config.js';
import { sealingCodec } from './payload-codec.js';
import { customerKeyStore } from '../store/customer-keys.js';
import type { Database } from '../store/db.js';
import { journeyCustomer } from '../workflows/journeys/index.js';

/**
 * How a deployment's clients and workers seal payloads: with PAYLOAD_KEYS (payload-codec.ts), and, given
 * the database, a journey instance's with its customer's own key, which erasure destroys. Without the
 * database (the replay of recorded histories, the time-skipping tests) only the deployment key seals,
 * and a customer-sealed payload cannot be opened.
 */
export function deploymentCodec(
  config: Pick<Config, 'PAYLOAD_KEYS' | 'CUSTOMER_KEYS'>,
  db?: Pick<Database, 'collections'>,
  options: { cacheKeysMs?: number } = {},
): PayloadCodec | undefined {
  const keys = config.PAYLOAD_KEYS;
  if (!keys?.length) return undefined;
  return sealingCodec(keys, db && config.CUSTOMER_KEYS ? customerKeyStore(db.collections.customerKeys, keys, journeyCustomer, options.cacheKeysMs) : undefined);
}

export function deploymentDataConverter(config: Pick<Config, 'PAYLOAD_KEYS' | 'CUSTOMER_KEYS'>, db?: Pick<Database, 'collections'>): DataConverter | undefined {
  const codec = deploymentCodec(config, db);
  return codec ? { payloadCodecs: [codec] } : undefined;
}

/** A client whose payloads are sealed (see deploymentDataConverter). */
export async function connectTemporal(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'PAYLOAD_KEYS' | 'CUSTOMER_KEYS'>,
  db?: Pick<Database, 'collections'>,
): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const traced = tracing();
  const dataConverter = deploymentDataConverter(config, db);
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...(dataConverter ? { dataConverter } : {}), ...(traced ? { plugins: [traced.plugin] } : {}) });
}
