/**
 * A burst of events the segments read, each posted until a server takes it, as a CDP's delivery
 * workers do through restarts and outages; and the audit of what the segments made of it: each
 * event counted once (no fact missing, none extra), each membership what the events decide, and
 * each customer's changes numbered 1..n without a gap, alternating from a join, ending in the state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
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

export interface SegmentJourneyAudit {
  /** Changes never handed to their journeys (an outbox mark left). */
  pending: number;
  /** VIPs without a VIP welcome, or whose instance did not enter on their join. */
  missing: string[];
  /** Customers with more than one VIP welcome run, or one who never joined VIP. */
  extra: string[];
  /** VIP welcomes whose send was not decided exactly once. */
  sends: string[];
}

/**
 * What the burst's membership changes started: once every change has been handed over (a server
 * that died after taking one leaves it to the recovery schedule), each customer who joined VIP has
 * exactly one VIP welcome, entered on their join (change 1), its send decided once; the others none.
 */
export async function auditSegmentJourneys(db: Database, temporal: Client, customers: BurstCustomer[], timeoutMs = 120_000): Promise<SegmentJourneyAudit> {
  const { segmentChanges, ledger } = db.collections;
  const pending = async () => (await pMap(customers, (c) => segmentChanges.countDocuments({ userId: c.userId, dispatch: 'pending' }), { concurrency: 8 })).reduce((a, b) => a + b, 0);
  await waitUntil(async () => (await pending()) === 0, timeoutMs, 'every change handed over').catch(() => undefined);
  const audit: SegmentJourneyAudit = { pending: await pending(), missing: [], extra: [], sends: [] };
  await pMap(customers, async (c) => {
    const workflowId = journeyWorkflowId('vipWelcome', c.userId);
    const runs = async () => (await temporal.workflow.count(`WorkflowId = '${workflowId}'`)).count;
    if (!c.expected['vip@1']) {
      if ((await runs()) > 0) audit.extra.push(`${c.userId}: a VIP welcome without joining VIP`);
      return;
    }
    const result = (await temporal.workflow.getHandle(workflowId).result().catch(() => undefined)) as JourneyResult | undefined;
    if (result?.entry?.messageId !== changeId('vip@1', c.userId, 1)) audit.missing.push(`${c.userId}: ${result ? `entered on ${result.entry?.messageId}` : 'no VIP welcome'}`);
    // Visibility lags the run by a moment: wait for it to list this one, then count.
    await waitUntil(async () => (await runs()) >= 1, 10_000, 'the run listed').catch(() => undefined);
    if ((await runs()) > 1) audit.extra.push(`${c.userId}: ${await runs()} VIP welcome runs`);
    const decided = await ledger.find({ userId: c.userId, journeyId: 'vipWelcome' }).toArray();
    if (decided.length !== 1 || decided[0]!.status !== 'done') audit.sends.push(`${c.userId}: ${decided.map((d) => `${d.status}:${d.reason}`).join(',') || 'no decision'}`);
  }, { concurrency: 8 });
  return audit;
}
