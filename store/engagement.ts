/**
 * Tracked sends and what recipients did with them. A tracked send (keyed by its send token) keeps the
 * original URLs its tracked links stand for, and which journey step sent it; short SMS links are keyed
 * by their code. Engagement records are insert-only: a send's first human open (or click) is the one
 * insert of `<token>/open` (or `/click`) that succeeds, so it is recorded, and reaches the journeys,
 * once however many arrive together; later ones and machine ones are kept under ids of their own.
 */
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { insertNew, isDuplicateKey } from './db.js';

export interface TrackedSendDoc {
  _id: string;
  ledgerKey: string;
  userId: string;
  journeyId: string;
  version?: number;
  stepId: string;
  channel: 'email' | 'sms';
  template: string;
  links: string[];
  at: Date;
}

export interface ShortLinkDoc {
  _id: string;
  token: string;
  link: number;
}

export type EngagementKind = 'open' | 'click';

export interface EngagementDoc {
  _id: string;
  token: string;
  kind: EngagementKind;
  channel: 'email' | 'sms';
  userId: string;
  journeyId: string;
  version?: number;
  stepId: string;
  template: string;
  link?: number;
  at: Date;
  /** The send's first human open or click (the one journeys hear of). */
  first: boolean;
  /** Why it is taken for a machine's (a privacy proxy's prefetch, a link scanner's), if it is. */
  machine?: string;
  insertedAt: Date;
}

/** Writes the tracked send (and its short links) before the message goes out; the same again on a retry. */
export async function saveTrackedSend(collections: { trackedSends: Collection<TrackedSendDoc>; shortLinks: Collection<ShortLinkDoc> }, send: TrackedSendDoc, codes: string[]): Promise<void> {
  await insertNew(collections.trackedSends, [send]);
  if (codes.length) await insertNew(collections.shortLinks, codes.map((code, link) => ({ _id: code, token: send._id, link })));
}

/** Records one open or click; returns whether it was the send's first human one. */
export async function recordEngagement(
  engagements: Collection<EngagementDoc>,
  send: TrackedSendDoc,
  hit: { kind: EngagementKind; link?: number; at: Date; machine?: string },
): Promise<boolean> {
  const doc = {
    token: send._id,
    kind: hit.kind,
    channel: send.channel,
    userId: send.userId,
    journeyId: send.journeyId,
    ...(send.version !== undefined ? { version: send.version } : {}),
    stepId: send.stepId,
    template: send.template,
    ...(hit.link !== undefined ? { link: hit.link } : {}),
    at: hit.at,
    ...(hit.machine ? { machine: hit.machine } : {}),
    insertedAt: new Date(),
  };
  if (!hit.machine) {
    try {
      await engagements.insertOne({ ...doc, _id: `${send._id}/${hit.kind}`, first: true });
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  await engagements.insertOne({ ...doc, _id: `${send._id}/${hit.kind}/${randomUUID()}`, first: false });
  return false;
}
