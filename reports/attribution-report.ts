/**
 * Which messages earned the conversions, by attribution model: credit (a share of each conversion)
 * and revenue per channel, journey, step and template. A conversion's credit goes to every message in
 * its goal's window, from its own journey or another; a goal event several journeys counted is
 * credited once. `journeyId` narrows to the conversions of one journey.
 */
import type { Database } from '../store/db.js';
import { journeyDays, touchOf } from '../store/rollups.js';
import type { AttributionModel } from './attribution.js';
import type { Period } from './journey-report.js';
import { goalRollups, stepSubject } from './rollup-reading.js';
import { cents, share } from './statistics.js';
import { touchesCounted } from './touches.js';

export interface CreditRow {
  key: string;
  conversions: number;
  revenue: number;
}

export interface AttributionReport {
  model: AttributionModel;
  period: Period;
  journeyId?: string;
  goal?: string;
  /** Conversions credited (one per goal event) and the revenue credited to messages. */
  conversions: number;
  revenue: number;
  /** Conversions with no message in their window (the holdout's, for one); their revenue is not in `revenue`. */
  unattributed: number;
  /** What counted as a touch (reports/touches.ts). */
  touches: string;
  byChannel: CreditRow[];
  byJourney: CreditRow[];
  byStep: CreditRow[];
  byTemplate: CreditRow[];
}

class Tally {
  private readonly rows = new Map<string, CreditRow>();
  add(key: string, conversions: number, revenue: number): void {
    const row = this.rows.get(key) ?? { key, conversions: 0, revenue: 0 };
    row.conversions += conversions;
    row.revenue += revenue;
    this.rows.set(key, row);
  }
  sorted(): CreditRow[] {
    return [...this.rows.values()]
      .map((row) => ({ ...row, conversions: share(row.conversions), revenue: cents(row.revenue) }))
      .sort((a, b) => b.conversions - a.conversions || a.key.localeCompare(b.key));
  }
}

export async function attributionReport(
  db: Database,
  options: Period & { model: AttributionModel; journeyId?: string; goal?: string },
): Promise<AttributionReport> {
  const docs = await journeyDays(db.collections.rollups, { journeyId: options.journeyId, from: options.from, to: options.to });
  const [channels, journeys, steps, templates] = [new Tally(), new Tally(), new Tally(), new Tally()];
  let conversions = 0;
  let revenue = 0;
  let unattributed = 0;
  let audiencesCounted = 0;
  for (const { rollup } of goalRollups(docs, options.goal)) {
    conversions += rollup.credited ?? 0;
    unattributed += rollup.unattributed ?? 0;
    audiencesCounted += rollup.audiencesCounted ?? 0;
    for (const [key, credit] of Object.entries(rollup.attribution?.[options.model] ?? {})) {
      const touch = touchOf(key);
      const subject = stepSubject(touch.journeyId, touch.version, touch.stepId);
      const [c, r] = [credit.conversions ?? 0, credit.revenue ?? 0];
      revenue += r;
      channels.add(subject.channel ?? 'unknown', c, r);
      journeys.add(touch.journeyId, c, r);
      steps.add(`${touch.journeyId}/${touch.stepId}`, c, r);
      templates.add(subject.subject ?? 'unknown', c, r);
    }
  }
  return {
    model: options.model,
    period: { from: options.from, to: options.to },
    ...(options.journeyId ? { journeyId: options.journeyId } : {}),
    ...(options.goal ? { goal: options.goal } : {}),
    conversions,
    revenue: cents(revenue),
    unattributed,
    touches: touchesCounted(audiencesCounted, conversions),
    byChannel: channels.sorted(),
    byJourney: journeys.sorted(),
    byStep: steps.sorted(),
    byTemplate: templates.sorted(),
  };
}
