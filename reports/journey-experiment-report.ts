/**
 * A cross-journey experiment's arms compared (workflows/journeys/experiments.ts), for example the
 * orchestrated cart journey against email and SMS journeys that ignore each other: per arm, entrants,
 * conversion rate with its interval and lift against the first arm, revenue per customer, messages
 * per customer and unsubscribe rate. Entrants, conversions and revenue are the arm's first journey's
 * (every journey of an arm starts on the same event, so each counts the arm's customers once);
 * messages are every email and SMS sent by any of the arm's journeys. Unsubscribes are the arm's
 * customers (those with a ledger entry from its journeys in the period) who unsubscribed in it: read
 * from the ledger and the suppressions, as a per-day count cannot tell who is whose.
 */
import type { Database } from '../store/db.js';
import { armOf, journeyExperiments } from '../workflows/journeys/experiments.js';
import { journeyReport, type Period } from './journey-report.js';
import { ReportError } from './experiment-report.js';
import { compareRates, enoughData, wilsonInterval, type Comparison, type Interval } from './statistics.js';

export interface ArmComparison {
  arm: string;
  percent: number;
  journeys: string[];
  entrants: number;
  converters: number;
  conversionRate?: number;
  interval: Interval;
  revenue: number;
  revenuePerCustomer?: number;
  messages: number;
  messagesPerCustomer?: number;
  unsubscribes: number;
  unsubscribeRate?: number;
  /** Against the first arm; absent for it and while data is short. */
  comparison?: Comparison;
  notEnoughData?: boolean;
}

export interface JourneyExperimentReport {
  experiment: string;
  description: string;
  period: Period;
  arms: ArmComparison[];
}

const DAY = 86_400_000;

export async function journeyExperimentReport(db: Database, experimentId: string, period: Period = {}): Promise<JourneyExperimentReport> {
  const experiment = journeyExperiments.find((e) => e.id === experimentId);
  if (!experiment) throw new ReportError(`no experiment "${experimentId}" in this build (it has: ${journeyExperiments.map((e) => e.id).join(', ')})`);
  const journeys = experiment.arms.flatMap((a) => a.journeys);
  const at = { ...(period.from ? { $gte: new Date(period.from) } : {}), ...(period.to ? { $lt: new Date(Date.parse(period.to) + DAY) } : {}) };
  const window = Object.keys(at).length ? at : undefined;
  const [participants, unsubscribed] = await Promise.all([
    db.collections.ledger.distinct('userId', { journeyId: { $in: journeys }, ...(window ? { at: window } : {}) }),
    db.collections.suppressions.distinct('userId', { kind: 'suppression', reason: 'unsubscribe', ...(window ? { createdAt: window } : {}) }),
  ]);
  const unsubscribers = new Set(unsubscribed);
  const rows = await Promise.all(
    experiment.arms.map(async (arm) => {
      const reports = await Promise.all(arm.journeys.map((journeyId) => journeyReport(db, journeyId, period)));
      const first = reports[0]!;
      const goal = first.goals[0];
      const messages = reports.flatMap((r) => r.steps).filter((s) => s.channel === 'email' || s.channel === 'sms').reduce((n, s) => n + (s.outcomes.sent ?? 0), 0);
      const unsubscribes = participants.filter((userId) => unsubscribers.has(userId) && armOf(experiment, userId) === arm).length;
      const entrants = first.entered;
      const converters = goal?.converters ?? 0;
      const revenue = goal?.revenue ?? 0;
      return {
        arm: arm.name,
        percent: arm.percent,
        journeys: arm.journeys,
        entrants,
        converters,
        ...(entrants ? { conversionRate: converters / entrants, revenuePerCustomer: revenue / entrants, messagesPerCustomer: messages / entrants, unsubscribeRate: unsubscribes / entrants } : {}),
        interval: wilsonInterval(converters, entrants),
        revenue,
        messages,
        unsubscribes,
      };
    }),
  );
  const control = { conversions: rows[0]!.converters, entrants: rows[0]!.entrants };
  return {
    experiment: experiment.id,
    description: experiment.description,
    period,
    arms: rows.map((row, i) => {
      if (i === 0) return row;
      const counts = { conversions: row.converters, entrants: row.entrants };
      return enoughData(counts, control) ? { ...row, comparison: compareRates(counts, control) } : { ...row, notEnoughData: true };
    }),
  };
}
