/**
 * Each customer's data key, which seals her journeys' payloads in Temporal (platform/payload-codec.ts),
 * kept here wrapped by the deployment's payload key. Erasure deletes it: what it sealed, in every
 * history, replay fixture and Temporal backup, cannot be read again (crypto-shredding).
 *
 * A key is made on first use by an insert under a unique index on the customer, so two processes
 * sealing for one customer at once keep one key: the loser reads the winner's. Workers and servers
 * cache keys for a minute (an erased customer's journeys are ended before her key is destroyed, so
 * nothing of hers is sealed or opened meanwhile); the UI's codec endpoint reads the store each time.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import type { Binary, Collection } from 'mongodb';
import { isDuplicateKey } from './db.js';
import { openBytes, sealBytes, type CustomerKeys, type PayloadKey } from '../platform/payload-codec.js';

export interface CustomerKeyDoc {
  /** The key's id, which payloads carry in their metadata: random, naming nobody. */
  _id: string;
  customer: string;
  /** The data key, sealed with the deployment key `wrappedWith` (bound to this id). */
  wrapped: Binary | Buffer;
  wrappedWith: string;
  createdAt: Date;
}

const CACHED_FOR_MS = 60_000;
const CACHED_KEYS = 10_000;
/**
 * How long a key read keeps trying through a store outage. The codec runs inside workflow tasks,
 * which Temporal times out after 10 s and then retries with a backoff that grows to minutes: a read
 * that rides out a database restart here keeps the journey on time.
 */
const STORE_PATIENCE_MS = 6_000;

async function patiently<T>(read: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + STORE_PATIENCE_MS;
  for (let wait = 100; ; wait = Math.min(wait * 2, 1_000)) {
    try {
      return await read();
    } catch (err) {
      if (Date.now() + wait > giveUpAt) throw err;
      await sleep(wait);
    }
  }
}

const bytes = (value: Binary | Buffer): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer));

export function customerKeyStore(
  keys: Collection<CustomerKeyDoc>,
  deploymentKeys: readonly PayloadKey[],
  ownerOf: (workflowId: string) => string | undefined,
  /** How long a key read stays cached; 0 reads the store every time (the UI's codec endpoint). */
  cacheMs = CACHED_FOR_MS,
): CustomerKeys {
  const [wrapping] = deploymentKeys;
  if (!wrapping) throw new Error('no payload key to wrap customer keys with');
  const byName = new Map(deploymentKeys.map((k) => [k.name, k.key]));
  const unwrap = (doc: CustomerKeyDoc): Buffer => {
    const key = byName.get(doc.wrappedWith);
    if (!key) throw new Error(`a customer key wrapped with payload key "${doc.wrappedWith}", which PAYLOAD_KEYS does not hold`);
    return openBytes(key, `customer-key:${doc._id}`, bytes(doc.wrapped));
  };
  // A ttl of 0 would cache for ever: no cache at all then.
  const cache = <V extends object>() => (cacheMs > 0 ? new LRUCache<string, V>({ max: CACHED_KEYS, ttl: cacheMs }) : undefined);
  const byCustomer = cache<{ id: string; key: Buffer }>();
  const byId = cache<Buffer>();

  async function sealingKey(customer: string): Promise<{ id: string; key: Buffer }> {
    const cached = byCustomer?.get(customer);
    if (cached) return cached;
    // A key is made first and read only when she has one: a burst of new customers' first events
    // (a campaign's sign-ups) costs one round trip each before Temporal is called, not two.
    const doc = await patiently(async () => {
      const id = randomBytes(16).toString('base64url');
      const made: CustomerKeyDoc = { _id: id, customer, wrapped: sealBytes(wrapping!.key, `customer-key:${id}`, randomBytes(32)), wrappedWith: wrapping!.name, createdAt: new Date() };
      try {
        await keys.insertOne(made);
        return made;
      } catch (err) {
        // She has one already, or another process made hers first (the unique index decided).
        const kept = isDuplicateKey(err) ? await keys.findOne({ customer }) : null;
        if (kept) return kept;
        throw err;
      }
    });
    const found = { id: doc._id, key: unwrap(doc) };
    byCustomer?.set(customer, found);
    byId?.set(found.id, found.key);
    return found;
  }

  async function openingKey(id: string): Promise<Buffer | undefined> {
    const cached = byId?.get(id);
    if (cached) return cached;
    const doc = await patiently(() => keys.findOne({ _id: id }));
    if (!doc) return undefined;
    const key = unwrap(doc);
    byId?.set(id, key);
    // A worker opens a new customer's first payloads (sealed by the server that took her event), then
    // seals its own with the same key: one read for both.
    byCustomer?.set(doc.customer, { id, key });
    return key;
  }

  return { ownerOf, sealingKey, openingKey };
}

/** Destroys the customers' data keys; returns how many there were. */
export async function destroyCustomerKeys(keys: Collection<CustomerKeyDoc>, customers: readonly string[]): Promise<number> {
  let destroyed = 0;
  // One customer at a time, by equality: FerretDB answers $in with a full scan.
  for (const customer of customers) destroyed += (await keys.deleteMany({ customer })).deletedCount;
  return destroyed;
}
