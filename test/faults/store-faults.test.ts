/**
 * A transient database error at every store call of the send path, in turn: lost before the server
 * saw it, and lost after the write landed. Attempts are retried as Temporal does (heartbeat details
 * carried over). Whatever call fails, the customer gets the message exactly once and the ledger says
 * sent: an error after the provider accepted never frees the claim, and an unused claim never
 * becomes an unknown outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLedgerEntry } from '../../store/ledger.js';
import { openDatabase } from '../../store/db.js';
import { mergeTraits } from '../../store/profiles.js';
import { deliverer, deliveryRequest } from '../support/delivery.js';
import { onceAt, withStoreFault, type FaultAt } from '../support/faulty-database.js';
import { startTestSystem, uniqueId, type TestSystem } from '../support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ startWorker: false, frequencyCap: '100/24h' });
});
afterAll(() => system?.close());

/**
 * Each customer a phone of their own: the messages counted are those to the number, so two customers
 * sharing one (random numbers did, about one run in fifty) read as a message sent twice.
 */
let phones = 0;
async function customer() {
  const userId = uniqueId('f');
  const email = `${userId}@example.com`;
  await mergeTraits(system.db.collections.profiles, userId, { email, phone: `+1415555${String(1000 + phones++).padStart(4, '0')}`, consent: { sms: true } });
  return { userId, email };
}

/** Sends one message with store faults; what the customer got and what the ledger says. */
async function sendWithFault(channel: 'email' | 'sms', faultAt?: FaultAt, options: Parameters<ReturnType<typeof deliverer>['deliverWithRetries']>[1] = {}) {
  const c = await customer();
  const faulty = withStoreFault(system.db, faultAt);
  const { deliverWithRetries, close } = deliverer(system.config, faulty.db);
  try {
    const request = deliveryRequest(c.userId, channel === 'sms' ? { channel: 'sms', template: 'cart-reminder-sms', stepId: 'cart-reminder-sms' } : {});
    const { outcome, attempts } = await deliverWithRetries(request, options);
    const phone = (await system.db.collections.profiles.findOne({ _id: c.userId }))!.traits.phone as string;
    const received = channel === 'email' ? system.smtp.messagesTo(c.email).length : system.twilio.messagesTo(phone).length;
    const entry = await findLedgerEntry(system.db.collections.ledger, request.idempotencyKey);
    return { outcome, attempts, received, entry, calls: faulty.calls() };
  } finally {
    await close();
  }
}

describe.each(['email', 'sms'] as const)('%s: a store error at each call of the send path', (channel) => {
  it.each(['before', 'after'] as const)('lost %s the server acted: exactly one message, recorded as sent', async (timing) => {
    const clean = await sendWithFault(channel);
    expect(clean).toMatchObject({ outcome: { delivered: true, reason: 'sent' }, attempts: 1, received: 1 });
    for (let at = 1; at <= clean.calls; at++) {
      const run = await sendWithFault(channel, onceAt(at, timing));
      expect({ at, received: run.received, reason: run.entry?.reason, status: run.entry?.status }).toEqual({ at, received: 1, reason: 'sent', status: 'done' });
      expect(run.outcome).toEqual({ delivered: true, reason: 'sent' });
    }
  });
});

it('the record of a send fails for a whole attempt, and the next attempt fails to claim: the third still records it as sent', async () => {
  let attempt = 0;
  let claimFailures = 0;
  const faultAt: FaultAt = ({ method }) => {
    if (attempt === 1 && method === 'updateOne') return 'before'; // the completion, all attempt long
    if (attempt === 2 && method === 'insertOne' && claimFailures++ === 0) return 'before'; // its claim is lost: it notes so
    return undefined;
  };
  const run = await sendWithFault('email', faultAt, { startToCloseTimeoutMs: 3_000, onAttempt: (n) => (attempt = n) });
  expect(run.attempts).toBe(3);
  expect({ received: run.received, reason: run.entry?.reason, status: run.entry?.status }).toEqual({ received: 1, reason: 'sent', status: 'done' });
});

it('the first claim lands unheard and the second attempt fails to claim: the third knows neither was used, and sends once', async () => {
  let attempt = 0;
  const faultAt: FaultAt = ({ method, collection }) => {
    if (collection !== 'ledger' || method !== 'insertOne') return undefined;
    if (attempt === 1) return 'after'; // the claim is written, its reply lost
    if (attempt === 2) return 'before'; // this claim never reaches the server
    return undefined;
  };
  const run = await sendWithFault('email', faultAt, { onAttempt: (n) => (attempt = n) });
  expect(run.attempts).toBe(3);
  expect({ received: run.received, reason: run.entry?.reason, status: run.entry?.status, attempt: run.entry?.attempt }).toEqual({
    received: 1,
    reason: 'sent',
    status: 'done',
    attempt: 3,
  });
});

it('an attempt that waited past its start-to-close timeout does not claim: its successor sends, once', async () => {
  const run = await sendWithFault('email', undefined, { startToCloseTimeoutMs: 60_000, scheduledAt: (attempt) => Date.now() - (attempt === 1 ? 61_000 : 0) });
  expect(run.attempts).toBe(2);
  expect({ received: run.received, reason: run.entry?.reason, attempt: run.entry?.attempt }).toEqual({ received: 1, reason: 'sent', attempt: 2 });
});

it('every collection exists once a process has opened the database, so none is created at a first write a crash could cut', async () => {
  // A fresh database, as a new deployment's first processes (a worker and a server) open it at once.
  const name = `${system.config.MONGODB_DATABASE}_fresh`;
  const [opened, other] = await Promise.all([openDatabase(system.config.MONGODB_URL, name), openDatabase(system.config.MONGODB_URL, name)]);
  try {
    const names = new Set((await opened.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
    const expected = new Set(Object.values(opened.collections).map((c: { collectionName: string }) => c.collectionName));
    expect([...expected].filter((collection) => !names.has(collection))).toEqual([]);
    expect(names.has('tracked_sends')).toBe(true);
  } finally {
    await opened.db.dropDatabase();
    await Promise.all([opened.close(), other.close()]);
  }
});
