/**
 * MongoDB access shared by ingestion and delivery. Written for the intersection of MongoDB and
 * FerretDB: no transactions, no TTL or partial indexes, and no reliance on atomic read-modify-write;
 * where a decision must be race-free it rests on a unique-key insert, the one atomic step both offer.
 */
import { MongoBulkWriteError, MongoClient, MongoServerError, type AnyBulkWriteOperation, type Collection, type Db, type Document, type OptionalUnlessRequiredId } from 'mongodb';
import type { AudienceMemberDoc, AudienceSyncDoc } from './audiences.js';
import type { ConsentEventDoc } from './consent.js';
import type { GrantDoc } from './frequency-grants.js';
import type { IdentityDoc } from './identities.js';
import type { InboundEventDoc } from './inbound-events.js';
import type { ProgressDoc } from './journey-progress.js';
import type { DeliveryReportDoc } from './delivery-reports.js';
import type { RateLimitDoc } from './rate-limits.js';
import type { EngagementDoc, ShortLinkDoc, TrackedSendDoc } from './engagement.js';
import type { HoldDoc, HoldEndDoc } from './holds.js';
import type { AuditDoc } from './audit-log.js';
import type { CreditClaimDoc, RollupDoc } from './rollups.js';
import type { LedgerDoc } from './ledger.js';
import type { LedgerHourDoc } from './ledger-hours.js';
import type { PolicyRecordDoc } from './policy-state.js';
import type { ProfileDoc } from './profiles.js';
import type { SuppressionDoc } from './suppressions.js';
import type { SegmentFactDoc } from './segment-facts.js';
import type { SegmentChangeDoc, SegmentMemberDoc } from './segment-memberships.js';
import type { SegmentClockDoc, SegmentDueDoc } from './segment-dues.js';
import type { SegmentBackfillDoc } from './segment-backfills.js';
import type { BroadcastPageDoc } from './broadcast-audiences.js';
import type { CustomerKeyDoc } from './customer-keys.js';
import type { ConversionRecord } from '../workflows/sdk/types.js';

export interface Collections {
  profiles: Collection<ProfileDoc>;
  inboundEvents: Collection<InboundEventDoc>;
  ledger: Collection<LedgerDoc>;
  /** Suppressions, cap grants and holds share `policy_records` (see policy-state.ts): four views of it. */
  policyRecords: Collection<PolicyRecordDoc>;
  suppressions: Collection<SuppressionDoc>;
  grants: Collection<GrantDoc>;
  holds: Collection<HoldDoc | HoldEndDoc>;
  conversions: Collection<ConversionDoc>;
  consentEvents: Collection<ConsentEventDoc>;
  identities: Collection<IdentityDoc>;
  audienceMembers: Collection<AudienceMemberDoc>;
  audienceSyncs: Collection<AudienceSyncDoc>;
  /** Every journey instance's step records, for the funnels (journey-progress.ts). */
  progress: Collection<ProgressDoc>;
  /** Tracked sends (their links' original URLs), SMS short links, and opens and clicks (engagement.ts). */
  trackedSends: Collection<TrackedSendDoc>;
  shortLinks: Collection<ShortLinkDoc>;
  engagements: Collection<EngagementDoc>;
  deliveryReports: Collection<DeliveryReportDoc>;
  rateLimits: Collection<RateLimitDoc>;
  /** Per journey, version and day: what the reports read (rollups.ts), and the rollup's cursors. */
  rollups: Collection<RollupDoc>;
  /** Which conversion credits messages for a goal event several journeys counted (rollups.ts). */
  creditClaims: Collection<CreditClaimDoc>;
  /** Changes made in the console, by whom (audit-log.ts). */
  auditLog: Collection<AuditDoc>;
  /** The hours that hold ledger entries: the console's newest-first message search (ledger-hours.ts). */
  ledgerHours: Collection<LedgerHourDoc>;
  /** What segments count (segment-facts.ts), who is in each (segment-memberships.ts), when time may change it (segment-dues.ts). */
  segmentFacts: Collection<SegmentFactDoc>;
  segmentMembers: Collection<SegmentMemberDoc>;
  segmentChanges: Collection<SegmentChangeDoc>;
  segmentDues: Collection<SegmentDueDoc>;
  /** The segment clock's watermark and each backfill's progress. */
  segmentClock: Collection<SegmentClockDoc>;
  segmentBackfills: Collection<SegmentBackfillDoc>;
  /** Each broadcast occurrence's audience, in pages (broadcast-audiences.ts). */
  broadcastPages: Collection<BroadcastPageDoc>;
  /** The one-off migrations that have run on this database, by name. */
  migrations: Collection<MigrationDoc>;
  /** Each customer's data key for her journeys' payloads in Temporal (customer-keys.ts). */
  customerKeys: Collection<CustomerKeyDoc>;
}

/**
 * A goal reached inside a journey, with the sends credited with it. The goal event's properties are
 * kept as JSON text: a sender's keys ('$x', 'a.b') and values (arrays in arrays) need not be ones a
 * document field may hold.
 */
export type ConversionDoc = Omit<ConversionRecord, 'event'> & {
  _id: string;
  at: Date;
  event: Omit<ConversionRecord['event'], 'properties'> & { properties: string };
  /**
   * Messages in the goal's window the steps do not show, from the ledger: other journeys', and the
   * instance's own sends whose outcome reached it after the goal. They share the credit.
   */
  otherTouches?: OtherTouch[];
};

export interface OtherTouch {
  journeyId: string;
  version: number;
  stepId: string;
  at: string;
}

/** A one-off migration done: its name and when. */
export interface MigrationDoc {
  _id: string;
  at: Date;
}

export interface Database {
  client: MongoClient;
  db: Db;
  collections: Collections;
  close(): Promise<void>;
}

export async function openDatabase(url: string, name: string, options: { monitorCommands?: boolean; serverSelectionTimeoutMS?: number } = {}): Promise<Database> {
  // Fail fast when the server is gone: callers retry (Temporal activities) or answer 503 (ingestion).
  // ignoreUndefined: an optional field left undefined is absent from the document, not null.
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000, ignoreUndefined: true, ...options });
  await client.connect();
  const db = client.db(name);
  const collections: Collections = {
    profiles: db.collection('profiles'),
    inboundEvents: db.collection('inbound_events'),
    ledger: db.collection('ledger'),
    policyRecords: db.collection('policy_records'),
    suppressions: db.collection('policy_records'),
    grants: db.collection('policy_records'),
    holds: db.collection('policy_records'),
    conversions: db.collection('conversions'),
    consentEvents: db.collection('consent_events'),
    identities: db.collection('identities'),
    audienceMembers: db.collection('audience_members'),
    audienceSyncs: db.collection('audience_syncs'),
    progress: db.collection('journey_progress'),
    trackedSends: db.collection('tracked_sends'),
    shortLinks: db.collection('short_links'),
    engagements: db.collection('engagements'),
    deliveryReports: db.collection('delivery_reports'),
    rateLimits: db.collection('rate_limits'),
    rollups: db.collection('rollups'),
    creditClaims: db.collection('credit_claims'),
    auditLog: db.collection('audit_log'),
    ledgerHours: db.collection('ledger_hours'),
    segmentFacts: db.collection('segment_facts'),
    segmentMembers: db.collection('segment_members'),
    segmentChanges: db.collection('segment_changes'),
    segmentDues: db.collection('segment_dues'),
    segmentClock: db.collection('segment_jobs'),
    segmentBackfills: db.collection('segment_jobs'),
    broadcastPages: db.collection('broadcast_pages'),
    migrations: db.collection('migrations'),
    customerKeys: db.collection('customer_keys'),
  };
  await createMissingCollections(db, collections);
  await Promise.all([
    // The recovery schedule's window and the cleanup's cut-off, on MongoDB without a scan.
    collections.inboundEvents.createIndex({ receivedAt: 1 }),
    // The recovery's outbox marks (store/inbound-events.ts): an equality read.
    collections.inboundEvents.createIndex({ open: 1 }),
    collections.ledger.createIndex({ userId: 1, at: 1 }),
    collections.ledger.createIndex({ providerMessageId: 1 }),
    collections.ledger.createIndex({ hour: 1 }),
    collections.profiles.createIndex({ 'traits.phone': 1 }),
    collections.policyRecords.createIndex({ userId: 1 }),
    collections.policyRecords.createIndex({ sendKey: 1 }),
    collections.policyRecords.createIndex({ kind: 1, at: 1 }),
    collections.policyRecords.createIndex({ kind: 1, expiresAt: 1 }),
    collections.conversions.createIndex({ journeyId: 1, goal: 1 }),
    collections.consentEvents.createIndex({ userId: 1, at: 1 }),
    collections.identities.createIndex({ userId: 1 }),
    collections.audienceMembers.createIndex({ changedAt: 1, _id: 1 }),
    // The rollup reads what was written since its cursor.
    collections.progress.createIndex({ insertedAt: 1, _id: 1 }),
    collections.conversions.createIndex({ at: 1, _id: 1 }),
    collections.conversions.createIndex({ userId: 1 }),
    collections.engagements.createIndex({ insertedAt: 1, _id: 1 }),
    collections.engagements.createIndex({ userId: 1, at: 1 }),
    collections.deliveryReports.createIndex({ insertedAt: 1, _id: 1 }),
    collections.rateLimits.createIndex({ until: 1 }),
    collections.rollups.createIndex({ journeyId: 1, day: 1 }),
    collections.auditLog.createIndex({ userId: 1, at: 1 }),
    collections.profiles.createIndex({ 'traits.email': 1 }),
    // Segments: each read is by equality, on both servers (see segment-dues.ts).
    collections.segmentFacts.createIndex({ userId: 1 }),
    collections.segmentFacts.createIndex({ at: 1 }),
    collections.segmentMembers.createIndex({ userId: 1 }),
    collections.segmentMembers.createIndex({ segment: 1, member: 1 }),
    collections.segmentChanges.createIndex({ memberId: 1 }),
    collections.segmentChanges.createIndex({ userId: 1 }),
    collections.segmentChanges.createIndex({ segment: 1, day: 1, change: 1 }),
    collections.segmentChanges.createIndex({ dispatch: 1 }),
    collections.segmentDues.createIndex({ minute: 1 }),
    collections.broadcastPages.createIndex({ run: 1 }),
    collections.broadcastPages.createIndex({ createdAt: 1 }),
    // One key per customer, made by whichever process seals first: the index decides the race.
    collections.customerKeys.createIndex({ customer: 1 }, { unique: true }),
  ]);
  return { client, db, collections, close: () => client.close() };
}

/**
 * Every collection exists before its first write. FerretDB otherwise creates one at its first insert,
 * and a FerretDB killed during that creation can leave PostgreSQL's table without FerretDB's record of
 * it: every insert then fails with "relation … already exists", for good (seen in the outages fault
 * test, on tracked_sends). Here a process creates them as it opens the database, before it sends.
 */
async function createMissingCollections(db: Db, collections: Collections): Promise<void> {
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const names = new Set(Object.values(collections).map((collection: Collection<Document>) => collection.collectionName));
  await Promise.all(
    [...names]
      .filter((name) => !existing.has(name))
      .map((name) =>
        db.createCollection(name).catch((err: unknown) => {
          // Another process opening the database at the same moment created it first.
          if (!(err instanceof MongoServerError && err.code === NAMESPACE_EXISTS)) throw err;
        }),
      ),
  );
}

const NAMESPACE_EXISTS = 48;

export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) return [err.writeErrors].flat().some((writeError) => writeError.code === 11000);
  return err instanceof MongoServerError && err.code === 11000;
}

/**
 * Runs an upsert again when it lost the race to insert the same `_id`: two upserts that both find no
 * document both insert, and the second gets E11000 (MongoDB documents this; FerretDB does the same).
 * The second run finds the document and updates it.
 */
export async function upsertRacing<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return write();
  }
}

/**
 * FerretDB holds a PostgreSQL connection for each update statement of a command until the whole
 * command ends, and takes one more for each statement's write: a bulk write of 300 updates alone
 * deadlocked its pool of 250 connections (measured 2026-12-07; every later query waited for ever, and
 * so did the workers' shutdown). So updates go at most this many to a command: what one command holds
 * stays within a few connections, and all of them within the pool however many commands run at once.
 */
const UPDATES_PER_COMMAND = 2;

/**
 * Runs update (and replace) statements as bulk writes of UPDATES_PER_COMMAND each, one command
 * after another, so their order holds (see UPDATES_PER_COMMAND). On MongoDB, a round trip per pair.
 */
export async function updateInCommands<T extends Document>(collection: Collection<T>, operations: AnyBulkWriteOperation<T>[]): Promise<void> {
  for (let i = 0; i < operations.length; i += UPDATES_PER_COMMAND) {
    await collection.bulkWrite(operations.slice(i, i + UPDATES_PER_COMMAND), { ordered: true });
  }
}

/** Inserts each document unless one with its _id exists (one round trip); returns the indexes that existed. */
export async function insertNew<T extends Document>(collection: Collection<T>, docs: OptionalUnlessRequiredId<T>[]): Promise<Set<number>> {
  const existing = new Set<number>();
  try {
    await collection.insertMany(docs, { ordered: false });
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    // The driver also wraps a lost connection or an unreachable server in a bulk error, with no
    // write errors (or only those of the batches it sent): only when every document not inserted
    // was refused as a duplicate is the insert done.
    const writeErrors = [err.writeErrors].flat();
    if (writeErrors.some((writeError) => writeError.code !== 11000) || err.insertedCount + writeErrors.length !== docs.length) throw err;
    for (const writeError of writeErrors) existing.add(writeError.index);
  }
  return existing;
}
