/**
 * MongoDB access shared by ingestion and delivery. Written for the intersection of MongoDB and
 * FerretDB: no transactions, no TTL or partial indexes, and no reliance on atomic read-modify-write;
 * where a decision must be race-free it rests on a unique-key insert, the one atomic step both offer.
 */
import { MongoClient, MongoServerError, type Collection, type Db } from 'mongodb';
import type { AudienceMemberDoc, AudienceSyncDoc } from './audiences.js';
import type { ConsentEventDoc } from './consent.js';
import type { GrantDoc } from './frequency-grants.js';
import type { IdentityDoc } from './identities.js';
import type { InboundEventDoc } from './inbound-events.js';
import type { LedgerDoc } from './ledger.js';
import type { ProfileDoc } from './profiles.js';
import type { SuppressionDoc } from './suppressions.js';
import type { ConversionRecord } from '../workflows/sdk/types.js';

export interface Collections {
  profiles: Collection<ProfileDoc>;
  inboundEvents: Collection<InboundEventDoc>;
  ledger: Collection<LedgerDoc>;
  suppressions: Collection<SuppressionDoc>;
  grants: Collection<GrantDoc>;
  conversions: Collection<ConversionDoc>;
  consentEvents: Collection<ConsentEventDoc>;
  identities: Collection<IdentityDoc>;
  audienceMembers: Collection<AudienceMemberDoc>;
  audienceSyncs: Collection<AudienceSyncDoc>;
}

/** A goal reached inside a journey, with the sends credited with it. */
export type ConversionDoc = ConversionRecord & { _id: string; at: Date };

export interface Database {
  client: MongoClient;
  db: Db;
  collections: Collections;
  close(): Promise<void>;
}

export async function openDatabase(url: string, name: string, options: { monitorCommands?: boolean } = {}): Promise<Database> {
  // Fail fast when the server is gone: callers retry (Temporal activities) or answer 503 (ingestion).
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000, ...options });
  await client.connect();
  const db = client.db(name);
  const collections: Collections = {
    profiles: db.collection('profiles'),
    inboundEvents: db.collection('inbound_events'),
    ledger: db.collection('ledger'),
    suppressions: db.collection('suppressions'),
    grants: db.collection('cap_grants'),
    conversions: db.collection('conversions'),
    consentEvents: db.collection('consent_events'),
    identities: db.collection('identities'),
    audienceMembers: db.collection('audience_members'),
    audienceSyncs: db.collection('audience_syncs'),
  };
  await Promise.all([
    collections.ledger.createIndex({ userId: 1, at: 1 }),
    collections.ledger.createIndex({ providerMessageId: 1 }),
    collections.profiles.createIndex({ 'traits.phone': 1 }),
    collections.suppressions.createIndex({ userId: 1, channel: 1 }),
    collections.grants.createIndex({ rule: 1, sendKey: 1 }, { unique: true }),
    collections.grants.createIndex({ sendKey: 1 }),
    collections.grants.createIndex({ rule: 1, userId: 1, seq: -1 }),
    collections.grants.createIndex({ rule: 1, userId: 1, at: 1 }),
    collections.conversions.createIndex({ journeyId: 1, goal: 1 }),
    collections.consentEvents.createIndex({ userId: 1, at: 1 }),
    collections.identities.createIndex({ userId: 1 }),
    collections.audienceMembers.createIndex({ changedAt: 1, _id: 1 }),
  ]);
  return { client, db, collections, close: () => client.close() };
}

export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}
