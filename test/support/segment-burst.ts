/**
 * A burst of events the segments read, each posted until a server takes it, as a CDP's delivery
 * workers do through restarts and outages; and the audit of what the segments made of it: each
 * event counted once (no fact missing, none extra), each membership what the events decide, and
 * each customer's changes numbered 1..n without a gap, alternating from a join, ending in the state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DateTime } from 'luxon';
import { zoneWhereLocalTimeIs } from '../../bench/load-generator.js';
import pMap from 'p-map';
import { postSegment } from '../../client/segment-http.js';
import type { Database } from '../../store/db.js';
import { isProcessed } from '../../store/inbound-events.js';
import type { Client } from '@temporalio/client';
import { changeId, memberId } from '../../store/segment-memberships.js';
import { journeyWorkflowId } from '../../workflows/sdk/definitions.js';
import type { JourneyResult } from '../../workflows/sdk/types.js';
import { waitUntil } from '../../stack/wait-until.js';
import { uniqueId } from './system.js';

export interface BurstCustomer {
  userId: string;
  /** The messageIds of the events sent for them. */
  messages: string[];
  /** Expected memberships, by segment version. */
  expected: Record<string, boolean>;
}

interface BurstEvent {
  userId: string;
  event: string;
  properties: Record<string, unknown>;
  messageId: string;
}

/**
 * Four product views each (the engaged browsers' threshold is three); every other customer also
 * orders for 600, which makes them VIP (and starts the VIP welcome) and keeps them out of the
 * engaged browsers. The events of all
 * customers are interleaved, so one customer's arrive at once on several connections.
 */
export function burstOf(prefix: string, count: number): { customers: BurstCustomer[]; events: BurstEvent[] } {
  const customers: BurstCustomer[] = [];
  const perCustomer: BurstEvent[][] = [];
  for (let i = 0; i < count; i++) {
    const userId = uniqueId(prefix);
    const orders = i % 2 === 0;
    const events: BurstEvent[] = Array.from({ length: 4 }, (_, v) => ({ userId, event: 'Product Viewed', properties: { sku: `sku-${v}` }, messageId: uniqueId('m') }));
    if (orders) events.splice(2, 0, { userId, event: 'Order Completed', properties: { revenue: 600 }, messageId: uniqueId('m') });
    perCustomer.push(events);
    customers.push({ userId, messages: events.map((e) => e.messageId), expected: { 'engagedBrowsers@1': !orders, 'vip@1': orders } });
  }
  const events = perCustomer.flatMap((list) => list.map((e, position) => ({ e, position }))).sort((a, b) => a.position - b.position).map(({ e }) => e);
  return { customers, events };
}

/** Posts until answered 200: a refused connection or a 5xx is tried again, a 4xx is a failure of the test. */
async function postUntilTaken(url: () => string, writeKey: string, event: BurstEvent): Promise<number> {
  const deadline = Date.now() + 180_000;
  for (let tries = 1; ; tries++) {
    const response = await postSegment(url(), writeKey, '/v1/track', { ...event, timestamp: new Date().toISOString() }).catch(() => undefined);
    if (response?.status === 200) return tries;
    if (response && response.status < 500) throw new Error(`an event was refused with ${response.status}: ${JSON.stringify(response.body)}`);
    if (Date.now() > deadline) throw new Error('an event was not taken within 3 minutes');
    await sleep(250);
  }
}

/** Posts every event, 16 at a time; `progress` hears how many have been taken. Returns how many needed more than one try. */
export async function postBurst(url: () => string, writeKey: string, events: BurstEvent[], progress: (taken: number) => void = () => {}): Promise<number> {
  let taken = 0;
  const tries = await pMap(events, async (event) => {
    const n = await postUntilTaken(url, writeKey, event);
    progress(++taken);
    return n;
  }, { concurrency: 16 });
  return tries.filter((n) => n > 1).length;
}

export interface SegmentAudit {
  /** Accepted events whose effects were never all done. */
  unfinished: number;
  /** Customers whose facts are not exactly their events, once. */
  miscounted: string[];
  wrongMemberships: string[];
  brokenChanges: string[];
}

/**
 * Waits for every event's effects to be done (an event whose server died after claiming it, or whose
 * database went away half way, is finished by the recovery schedule), then audits each customer.
 * A fact alone is not enough to wait for: the evaluation it is recorded for may still be to come.
 */
export async function auditSegments(db: Database, source: string, customers: BurstCustomer[], timeoutMs = 120_000): Promise<SegmentAudit> {
  const { segmentFacts, segmentMembers, segmentChanges, inboundEvents } = db.collections;
  const counted = async (c: BurstCustomer) => (await segmentFacts.find({ userId: c.userId }, { projection: { messageKey: 1 } }).toArray()).map((f) => f.messageKey.split(':').slice(1).join(':'));
  const messages = customers.flatMap((c) => c.messages);
  const unfinished = async () => (await pMap(messages, (m) => isProcessed(inboundEvents, source, m), { concurrency: 8 })).filter((done) => !done).length;
  await waitUntil(async () => (await unfinished()) === 0, timeoutMs, 'every event finished').catch(() => undefined);
  const audit: SegmentAudit = { unfinished: await unfinished(), miscounted: [], wrongMemberships: [], brokenChanges: [] };
  await pMap(customers, async (c) => {
    const facts = (await counted(c)).sort();
    if (JSON.stringify(facts) !== JSON.stringify([...c.messages].sort())) audit.miscounted.push(`${c.userId}: ${facts.length} facts for ${c.messages.length} events`);
    for (const [segment, expected] of Object.entries(c.expected)) {
      const state = await segmentMembers.findOne({ _id: memberId(segment, c.userId) });
      if ((state?.member ?? false) !== expected) audit.wrongMemberships.push(`${c.userId} ${segment}: ${state?.member ?? false}, expected ${expected}`);
      const changes = (await segmentChanges.find({ memberId: memberId(segment, c.userId) }).toArray()).sort((a, b) => a.n - b.n);
      const inOrder = changes.every((ch, i) => ch.n === i + 1 && ch.change === (i % 2 === 0 ? 'joined' : 'left'));
      const last = changes.at(-1);
      if (!inOrder || (last && (state?.n !== last.n || state.member !== (last.change === 'joined')))) audit.brokenChanges.push(`${c.userId} ${segment}: ${changes.map((ch) => `${ch.n}:${ch.change}`).join(',')} → state ${state?.n}:${state?.member}`);
    }
  }, { concurrency: 8 });
  return audit;
}

export interface EntryAudit {
  /** Changes never handed to their journeys (an outbox mark left). */
  pending: number;
  /** Customers who should have entered but have no run, or whose run did not enter on their first join. */
  missing: string[];
  /** Customers with more than one run, or with one who should have none. */
  extra: string[];
  /** Runs whose send was not decided exactly once. */
  sends: string[];
}

/**
 * What membership changes started: once each of `entered` has joined `segment` and every change has
 * been handed over (a process that died after taking one leaves it to the recovery schedule), each
 * of them has exactly one run of `journey`, entered on their first join (change 1), its send decided
 * once; each of `notEntered` none.
 */
export async function auditEntries(
  db: Database,
  temporal: Client,
  audit: { journey: string; segment: string; entered: string[]; notEntered?: string[] },
  timeoutMs = 120_000,
): Promise<EntryAudit> {
  const { segmentChanges, ledger } = db.collections;
  const all = [...audit.entered, ...(audit.notEntered ?? [])];
  const pending = async () => (await pMap(all, (userId) => segmentChanges.countDocuments({ userId, dispatch: 'pending' }), { concurrency: 8 })).reduce((a, b) => a + b, 0);
  const joined = async () => (await pMap(audit.entered, (userId) => segmentChanges.countDocuments({ _id: changeId(audit.segment, userId, 1) }), { concurrency: 8 })).filter((n) => n > 0).length;
  await waitUntil(async () => (await joined()) === audit.entered.length && (await pending()) === 0, timeoutMs, 'every join taken and handed over').catch(() => undefined);
  const found: EntryAudit = { pending: await pending(), missing: [], extra: [], sends: [] };
  const runsOf = async (userId: string) => (await temporal.workflow.count(`WorkflowId = '${journeyWorkflowId(audit.journey, userId)}'`)).count;
  await pMap(audit.notEntered ?? [], async (userId) => {
    if ((await runsOf(userId)) > 0) found.extra.push(`${userId}: a ${audit.journey} run without joining ${audit.segment}`);
  }, { concurrency: 8 });
  await pMap(audit.entered, async (userId) => {
    const result = (await temporal.workflow.getHandle(journeyWorkflowId(audit.journey, userId)).result().catch(() => undefined)) as JourneyResult | undefined;
    if (result?.entry?.messageId !== changeId(audit.segment, userId, 1)) found.missing.push(`${userId}: ${result ? `entered on ${result.entry?.messageId}` : `no ${audit.journey} run`}`);
    // Visibility lags the run by a moment: wait for it to list this one, then count.
    await waitUntil(async () => (await runsOf(userId)) >= 1, 10_000, 'the run listed').catch(() => undefined);
    if ((await runsOf(userId)) > 1) found.extra.push(`${userId}: ${await runsOf(userId)} ${audit.journey} runs`);
    const decided = await ledger.find({ userId, journeyId: audit.journey }).toArray();
    if (decided.length !== 1 || decided[0]!.status !== 'done') found.sends.push(`${userId}: ${decided.map((d) => `${d.status}:${d.reason}`).join(',') || 'no decision'}`);
  }, { concurrency: 8 });
  return found;
}

/** The burst's VIP joins: one VIP welcome each for the customers who ordered, none for the others. */
export const auditSegmentJourneys = (db: Database, temporal: Client, customers: BurstCustomer[]) =>
  auditEntries(db, temporal, {
    journey: 'vipWelcome',
    segment: 'vip@1',
    entered: customers.filter((c) => c.expected['vip@1']).map((c) => c.userId),
    notEntered: customers.filter((c) => !c.expected['vip@1']).map((c) => c.userId),
  });

/**
 * Customers whose birthday greeting falls due at the start of a coming minute, at least `leadMs` from
 * now: 09:00 on their birthday in a fixed-offset zone (`UTC+5:37`) chosen to put 09:00 there.
 */
export function birthdaysDueSoon(prefix: string, count: number, leadMs: number): { due: number; customers: { userId: string; traits: Record<string, unknown> }[] } {
  const due = Math.ceil((Date.now() + leadMs) / 60_000) * 60_000;
  const timezone = zoneWhereLocalTimeIs(due, '09:00');
  const birthday = `1990${DateTime.fromMillis(due, { zone: timezone }).toISODate()!.slice(4)}`;
  const customers = Array.from({ length: count }, () => {
    const userId = uniqueId(prefix);
    return { userId, traits: { email: `${userId}@example.com`, birthday, timezone } };
  });
  return { due, customers };
}

/** Identifies each customer through the server, as the CDP does; all must be taken. */
export async function identifyAll(url: string, writeKey: string, customers: { userId: string; traits: Record<string, unknown> }[]): Promise<void> {
  await pMap(customers, async ({ userId, traits }) => {
    const response = await postSegment(url, writeKey, '/v1/identify', { userId, traits, messageId: uniqueId('m') });
    if (response.status !== 200) throw new Error(`an identify was refused with ${response.status}`);
  }, { concurrency: 16 });
}
