import { tracing } from './tracing.js';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import type { Config } from '../config.js';
import { sealingCodec, type CustomerKeys } from './payload-codec.js';
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
  return sealing(config, db, options)?.codec;
}

function sealing(config: Pick<Config, 'PAYLOAD_KEYS' | 'CUSTOMER_KEYS'>, db?: Pick<Database, 'collections'>, options: { cacheKeysMs?: number } = {}) {
  const keys = config.PAYLOAD_KEYS;
  if (!keys?.length) return undefined;
  const customerKeys = db && config.CUSTOMER_KEYS ? customerKeyStore(db.collections.customerKeys, keys, journeyCustomer, options.cacheKeysMs) : undefined;
  return { codec: sealingCodec(keys, customerKeys), customerKeys };
}

export function deploymentDataConverter(config: Pick<Config, 'PAYLOAD_KEYS' | 'CUSTOMER_KEYS'>, db?: Pick<Database, 'collections'>): DataConverter | undefined {
  const codec = deploymentCodec(config, db);
  return codec ? { payloadCodecs: [codec] } : undefined;
}

/** Each connected client's customer keys, for prepareSealing. */
const keysOf = new WeakMap<Client, CustomerKeys>();

/**
 * Has the key that will seal this workflow's payloads at hand (made or read, then cached), so that
 * a call to Temporal under a deadline spends the deadline on Temporal: a new customer's key is a
 * database write, which a busy store would otherwise count against Temporal's answer.
 */
export async function prepareSealing(client: Client, workflowId: string): Promise<void> {
  const keys = keysOf.get(client);
  const owner = keys?.ownerOf(workflowId);
  if (keys && owner) await keys.sealingKey(owner);
}

/** A client whose payloads are sealed (see deploymentDataConverter). */
export async function connectTemporal(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'PAYLOAD_KEYS' | 'CUSTOMER_KEYS'>,
  db?: Pick<Database, 'collections'>,
): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const traced = tracing();
  const sealed = sealing(config, db);
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    ...(sealed ? { dataConverter: { payloadCodecs: [sealed.codec] } } : {}),
    ...(traced ? { plugins: [traced.plugin] } : {}),
  });
  if (sealed?.customerKeys) keysOf.set(client, sealed.customerKeys);
  return client;
}
