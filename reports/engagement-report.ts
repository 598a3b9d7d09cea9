/**
 * Engagement per send step: how many were sent, how many of those a person opened or clicked (open
 * and click rates), every human open and click, and the machine ones left out. From the rollups,
 * over every journey or one.
 */
import type { Database } from '../store/db.js';
import { journeyDays } from '../store/rollups.js';
import type { Period } from './journey-report.js';
import { stepOutcomes, stepSubject } from './rollup-reading.js';

export interface EngagementRow {
  journeyId: string;
  stepId: string;
  channel?: string;
  template?: string;
  sent: number;
  opened: number;
  clicked: number;
  openRate?: number;
  clickRate?: number;
  opens: number;
  clicks: number;
  machineOpens: number;
  machineClicks: number;
}

export interface EngagementReport {
  period: Period;
  journeyId?: string;
  steps: EngagementRow[];
}

export async function engagementReport(db: Database, options: Period & { journeyId?: string } = {}): Promise<EngagementReport> {
  const docs = await journeyDays(db.collections.rollups, options);
  const steps: EngagementRow[] = [];
  for (const journeyId of [...new Set(docs.map((d) => d.journeyId))].sort()) {
    const mine = docs.filter((d) => d.journeyId === journeyId);
    const latest = Math.max(...mine.map((d) => d.version));
    const outcomes = stepOutcomes(mine);
    for (const [stepId, counts] of stepOutcomes(mine, 'engagement')) {
      const sent = outcomes.get(stepId)?.sent ?? 0;
      const subject = stepSubject(journeyId, latest, stepId);
      const [opened, clicked] = [counts.opened ?? 0, counts.clicked ?? 0];
      steps.push({
        journeyId,
        stepId,
        channel: subject.channel,
        template: subject.subject,
        sent,
        opened,
        clicked,
        ...(sent ? { openRate: opened / sent, clickRate: clicked / sent } : {}),
        opens: counts.opens ?? 0,
        clicks: counts.clicks ?? 0,
        machineOpens: counts['machine-opens'] ?? 0,
        machineClicks: counts['machine-clicks'] ?? 0,
      });
    }
  }
  return { period: { from: options.from, to: options.to }, ...(options.journeyId ? { journeyId: options.journeyId } : {}), steps };
}
