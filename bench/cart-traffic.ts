/** Realistic records for benches that need a large ledger without running every journey. */
import type { ConversionDoc } from '../store/db.js';
import type { ProgressDoc } from '../store/journey-progress.js';
import type { LedgerDoc } from '../store/ledger.js';
import { hourOf } from '../store/ledger-hours.js';

export const SENDS_PER_INSTANCE = 3;
const DAY = 86_400_000;

/**
 * Cart-abandonment instances as the journeys record them: per instance six step records, three
 * ledger entries (email, SMS, audience) and, for one in ten, a conversion; entered on one of the last
 * 30 days, at a minute of it spread through the day as traffic arrives. Instances `first` to
 * `first + count - 1`, one customer each (bench-<n>).
 */
export function cartTraffic(first: number, count: number) {
  const progress: ProgressDoc[] = [];
  const ledger: LedgerDoc[] = [];
  const conversions: ConversionDoc[] = [];
  const insertedAt = new Date();
  for (let i = 0; i < count; i++) {
    const n = first + i;
    const userId = `bench-${n}`;
    const workflowId = `journey/cartAbandonment/${userId}`;
    const entered = Date.now() - (n % 30) * DAY - 2 * DAY - ((n * 7_919) % 1_440) * 60_000;
    const at = (hours: number) => new Date(entered + hours * 3_600_000);
    const smsOutcome = n % 4 === 0 ? 'no-consent' : 'sent';
    const steps: Array<[string, string, number]> = [
      ['entry', 'entered', 0],
      ['wait-before-reminder', 'waited', 1],
      ['cart-reminder-email', 'sent', 1],
      ['wait-for-order', 'waited', 25],
      ['cart-reminder-sms', smsOutcome, 25],
      ['add-to-retargeting', 'sent', 25],
    ];
    steps.forEach(([stepId, outcome, hours], seq) =>
      progress.push({ _id: `${workflowId}/r/${seq}`, journeyId: 'cartAbandonment', version: 1, workflowId, runId: 'r', userId, seq, stepId, outcome, at: at(hours), insertedAt }),
    );
    for (const [stepId, channel, reason, hours] of [['cart-reminder-email', 'email', 'sent', 1], ['cart-reminder-sms', 'sms', smsOutcome, 25], ['add-to-retargeting', 'audience', 'sent', 25]] as const) {
      const sentAt = at(hours);
      ledger.push({ _id: `${workflowId}/r/${stepId}#1`, userId, journeyId: 'cartAbandonment', stepId, workflowId, channel, subject: stepId, category: 'marketing', status: 'done', delivered: reason === 'sent', reason, at: sentAt, hour: hourOf(sentAt) });
    }
    if (n % 10 === 0) {
      const timestamp = at(30).toISOString();
      conversions.push({
        _id: `${workflowId}/ordered/o-${n}`, journeyId: 'cartAbandonment', version: 1, workflowId, userId, goal: 'ordered',
        event: { messageId: `o-${n}`, event: 'Order Completed', userId, timestamp, properties: JSON.stringify({ revenue: 40 + (n % 7) * 10 }) },
        enteredAt: at(0).toISOString(),
        steps: steps.slice(1).map(([stepId, outcome, hours]) => ({ stepId, outcome, at: at(hours).toISOString() })).concat({ stepId: 'goal:ordered', outcome: 'converted:Order Completed', at: timestamp }),
        attributedTo: ['cart-reminder-email', ...(smsOutcome === 'sent' ? ['cart-reminder-sms'] : []), 'add-to-retargeting'],
        at: new Date(),
      });
    }
  }
  return { progress, ledger, conversions };
}
