/**
 * When an event happened, on our clock. Devices' clocks are often wrong, so, as Segment does, the
 * time is corrected by the skew the sender shows: receivedAt - (sentAt - originalTimestamp), both
 * sender times being read from the same (wrong) clock. Without sentAt there is no skew to measure.
 */
import { FUTURE_TOLERANCE_MS } from './limits.js';

export interface Timestamps {
  timestamp?: string;
  originalTimestamp?: string;
  sentAt?: string;
}

export function eventTime(message: Timestamps, receivedAt: Date, forwarded: boolean): Date {
  const at = senderTime(message, receivedAt, forwarded);
  // A clock far ahead would date the event in the future, and its traits would win over every later
  // identify (last write wins by event time): beyond the tolerance it happened when it arrived.
  return at.getTime() - receivedAt.getTime() > FUTURE_TOLERANCE_MS ? receivedAt : at;
}

function senderTime(message: Timestamps, receivedAt: Date, forwarded: boolean): Date {
  // A CDP destination forwards `timestamp` already corrected by the CDP that received it.
  if (forwarded && message.timestamp) return new Date(message.timestamp);
  const original = message.originalTimestamp ?? message.timestamp;
  if (!original) return receivedAt;
  if (!message.sentAt) return new Date(original);
  return new Date(receivedAt.getTime() - (Date.parse(message.sentAt) - Date.parse(original)));
}
