/**
 * The fault suite's verdict per customer and step: the message arrived exactly once (at the SMTP sink
 * or the Twilio stand-in) and the ledger agrees, or it did not arrive and the ledger says why. An
 * unknown outcome may go either way (the provider had the message when a process died) but never twice.
 */
import type { TestSystem } from './system.js';

export interface Audit {
  duplicates: string[];
  /** Arrived, but the ledger says not sent; or the ledger says sent and nothing arrived. */
  disagreements: string[];
  /** No final ledger decision at all. */
  undecided: string[];
  unknownOutcomes: number;
}

export async function auditSends(system: TestSystem, customers: { userId: string; email: string; phone: string }[]): Promise<Audit> {
  const audit: Audit = { duplicates: [], disagreements: [], undecided: [], unknownOutcomes: 0 };
  for (const c of customers) {
    const arrivals = { email: system.smtp.messagesTo(c.email).length, sms: system.twilio.messagesTo(c.phone).length };
    for (const channel of ['email', 'sms'] as const) {
      const entries = await system.db.collections.ledger.find({ userId: c.userId, channel }).toArray();
      const what = `${c.userId} ${channel}`;
      if (arrivals[channel] > 1) audit.duplicates.push(`${what}: ${arrivals[channel]} arrived`);
      const entry = entries[0];
      if (!entry || entry.status !== 'done') {
        audit.undecided.push(what);
        continue;
      }
      if (entry.reason === 'unknown-outcome') {
        audit.unknownOutcomes++;
        console.log(`unknown outcome: ${what}, ${arrivals[channel]} arrived: ${entry.detail}`);
      }
      else if ((entry.reason === 'sent') !== (arrivals[channel] === 1)) audit.disagreements.push(`${what}: ledger ${entry.reason}, ${arrivals[channel]} arrived`);
    }
  }
  return audit;
}
