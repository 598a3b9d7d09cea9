/** The reports as the CLI prints them: aligned columns, rates as percentages, money with two decimals. */
import type { AttributionReport, CreditRow } from './attribution-report.js';
import type { ExperimentReport } from './experiment-report.js';
import type { GlobalControlReport } from './global-control-report.js';
import type { EngagementReport } from './engagement-report.js';
import type { JourneyExperimentReport } from './journey-experiment-report.js';
import type { JourneyReport, Period } from './journey-report.js';

const pct = (rate: number | undefined) => (rate === undefined ? '-' : `${(rate * 100).toFixed(1)}%`);
const money = (n: number) => n.toFixed(2);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

const periodText = (p: Period) => (p.from || p.to ? `${p.from ?? 'start'} to ${p.to ?? 'today'}` : 'all time');

function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

export function formatJourneyReport(r: JourneyReport): string {
  const exits = Object.entries(r.exited).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
  const lines = [
    `${r.journeyId} (versions ${r.versions.join(', ') || '-'}), ${periodText(r.period)}`,
    `entered ${r.entered}, completed ${r.completed} (${pct(r.completionRate)}), exited: ${exits}`,
    '',
    table([
      ['step', 'kind', 'reached', 'outcomes', 'provider reports', 'engagement'],
      ...r.steps.map((s) => [
        s.stepId,
        s.channel ? `${s.channel} ${s.subject}` : s.kind,
        String(s.reached),
        Object.entries(s.outcomes).map(([o, n]) => `${o} ${n}`).join(', '),
        Object.entries(s.delivery ?? {}).map(([o, n]) => `${o} ${n}`).join(', '),
        Object.entries(s.engagement ?? {}).map(([o, n]) => `${o} ${n}`).join(', '),
      ]),
    ]),
  ];
  if (r.goals.length) {
    lines.push(
      '',
      table([
        ['goal', 'converted', 'rate', 'conversions', 'revenue', 'median time to convert'],
        ...r.goals.map((g) => [g.goal, String(g.converters), pct(g.conversionRate), String(g.conversions), money(g.revenue), duration(g.medianSecondsToConvert)]),
      ]),
    );
  }
  return lines.join('\n');
}

export function formatExperimentReport(r: ExperimentReport): string {
  const lines = [`${r.journeyId} v${r.version}, ${periodText(r.period)}`];
  if (r.splits.length === 0) lines.push('no splits in this version');
  for (const s of r.splits) {
    lines.push(
      '',
      `split ${s.stepId}, goal ${s.goal}, control ${s.control}`,
      table([
        ['arm', 'share', 'entrants', 'converted', 'rate', '95% interval', 'lift', 'relative', 'p-value'],
        ...s.arms.map((a) => [
          a.arm,
          `${a.percent}%`,
          String(a.entrants),
          String(a.converters),
          pct(a.rate),
          `${pct(a.interval.low)} to ${pct(a.interval.high)}`,
          a.control ? 'control' : a.comparison ? `${(a.comparison.absoluteLift * 100).toFixed(1)} pts` : 'not enough data',
          a.comparison ? pct(a.comparison.relativeLift) : '',
          a.comparison ? a.comparison.pValue.toPrecision(3) : '',
        ]),
      ]),
      s.sampleRatio.mismatch
        ? `WARNING sample ratio mismatch (chi-square ${s.sampleRatio.chiSquare.toFixed(2)}, p ${s.sampleRatio.pValue.toPrecision(3)}): assignment does not match the configured shares; do not trust these results`
        : `sample ratio as configured (p ${s.sampleRatio.pValue.toPrecision(3)})`,
    );
  }
  return lines.join('\n');
}

function creditTable(title: string, rows: CreditRow[]): string {
  return table([[title, 'conversions', 'revenue'], ...rows.map((row) => [row.key, row.conversions.toFixed(2), money(row.revenue)])]);
}

export function formatAttributionReport(r: AttributionReport): string {
  return [
    `attribution, ${r.model}, ${r.journeyId ?? 'every journey'}, ${periodText(r.period)}`,
    `conversions ${r.conversions} (revenue ${money(r.revenue)}), of which ${r.unattributed} with no message to credit`,
    `touches: ${r.touches}`,
    '',
    creditTable('channel', r.byChannel),
    '',
    creditTable('journey', r.byJourney),
    '',
    creditTable('step', r.byStep),
    '',
    creditTable('template', r.byTemplate),
  ].join('\n');
}

export function formatGlobalControlReport(r: GlobalControlReport): string {
  const row = (name: string, g: GlobalControlReport['control']) => [name, String(g.customers), String(g.converters), pct(g.rate), `${pct(g.interval.low)} to ${pct(g.interval.high)}`];
  const c = r.comparison;
  return [
    `global control (${r.controlPercent}% of customers, no marketing), "${r.event}", ${periodText(r.period)}`,
    table([['group', 'customers', 'did it', 'rate', '95% interval'], row('control', r.control), row('everyone else', r.everyoneElse)]),
    c
      ? `lift ${(c.absoluteLift * 100).toFixed(2)} pts (${pct(c.absoluteLiftInterval.low)} to ${pct(c.absoluteLiftInterval.high)}), relative ${pct(c.relativeLift)}, p ${c.pValue.toPrecision(3)}`
      : 'not enough data for a lift yet (at least 5 who did it and 5 who did not, in each group)',
  ].join('\n');
}

export function formatJourneyExperimentReport(r: JourneyExperimentReport): string {
  return [
    `experiment ${r.experiment}, ${periodText(r.period)}: ${r.description}`,
    table([
      ['arm', 'journeys', 'entrants', 'converted', 'rate', '95% interval', 'lift', 'p-value', 'revenue/customer', 'messages/customer', 'unsubscribe rate'],
      ...r.arms.map((a, i) => [
        `${a.arm} (${a.percent}%)`,
        a.journeys.join(' + '),
        String(a.entrants),
        String(a.converters),
        pct(a.conversionRate),
        `${pct(a.interval.low)} to ${pct(a.interval.high)}`,
        i === 0 ? 'baseline' : a.comparison ? `${(a.comparison.absoluteLift * 100).toFixed(1)} pts` : 'not enough data',
        a.comparison ? a.comparison.pValue.toPrecision(3) : '',
        a.revenuePerCustomer === undefined ? '-' : money(a.revenuePerCustomer),
        a.messagesPerCustomer === undefined ? '-' : a.messagesPerCustomer.toFixed(2),
        pct(a.unsubscribeRate),
      ]),
    ]),
  ].join('\n');
}

export function formatEngagementReport(r: EngagementReport): string {
  if (r.steps.length === 0) return `engagement, ${r.journeyId ?? 'every journey'}, ${periodText(r.period)}: no opens or clicks yet`;
  return [
    `engagement, ${r.journeyId ?? 'every journey'}, ${periodText(r.period)} (machine opens and clicks left out of the rates)`,
    table([
      ['journey / step', 'message', 'sent', 'opened', 'open rate', 'clicked', 'click rate', 'opens', 'clicks', 'machine opens', 'machine clicks'],
      ...r.steps.map((s) => [
        `${s.journeyId} / ${s.stepId}`,
        `${s.channel ?? ''} ${s.template ?? ''}`.trim(),
        String(s.sent),
        String(s.opened),
        pct(s.openRate),
        String(s.clicked),
        pct(s.clickRate),
        String(s.opens),
        String(s.clicks),
        String(s.machineOpens),
        String(s.machineClicks),
      ]),
    ]),
  ].join('\n');
}
