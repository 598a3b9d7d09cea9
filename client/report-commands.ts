/**
 * `npm run cli -- report journey|experiment|attribution`: the reports, read from the rollups, as text
 * or (--json) as the admin API serves them.
 */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { Database } from '../store/db.js';
import { describeIssues } from '../events/segment-schema.js';
import { attributionReport } from '../reports/attribution-report.js';
import { ATTRIBUTION_MODELS } from '../reports/attribution.js';
import { experimentReport } from '../reports/experiment-report.js';
import { journeyReport } from '../reports/journey-report.js';
import { AttributionReportQuery, EngagementReportQuery, ExperimentReportQuery, GlobalControlReportQuery, JourneyExperimentReportQuery, JourneyReportQuery } from '../reports/report-queries.js';
import { formatAttributionReport, formatEngagementReport, formatExperimentReport, formatGlobalControlReport, formatJourneyExperimentReport, formatJourneyReport } from '../reports/report-text.js';
import { globalControlReport } from '../reports/global-control-report.js';
import { journeyExperimentReport } from '../reports/journey-experiment-report.js';
import { engagementReport } from '../reports/engagement-report.js';
import { loadConfig } from '../config.js';

type WithDatabase = <T>(use: (db: Database) => Promise<T>) => Promise<T>;

function parsed<S extends z.ZodType>(schema: S, options: Record<string, unknown>): z.output<S> {
  const { json: _json, ...query } = options;
  const result = schema.safeParse(query);
  if (!result.success) throw new Error(describeIssues(result.error).map((p) => `--${p.field}: ${p.message}`).join('; '));
  return result.data;
}

function print<T>(report: T, options: { json?: boolean }, asText: (report: T) => string): void {
  console.log(options.json ? JSON.stringify(report, null, 2) : asText(report));
}

const period = (command: Command) =>
  command.option('--from <day>', 'first UTC day, YYYY-MM-DD').option('--to <day>', 'last UTC day, YYYY-MM-DD').option('--json', 'as JSON');

export function registerReportCommands(program: Command, withDatabase: WithDatabase): void {
  const report = program.command('report').description('how journeys perform, from the rollups (refreshed by the rollup schedule every ROLLUP_INTERVAL)');

  period(report.command('journey <journeyId>').description('funnel: entered, each step and its outcomes, conversions, exits, completion'))
    .option('--version <n>', 'one version only')
    .action(async (journeyId: string, options: Record<string, unknown>) => {
      const query = parsed(JourneyReportQuery, options);
      print(await withDatabase((db) => journeyReport(db, journeyId, query)), options, formatJourneyReport);
    });

  period(report.command('experiment <journeyId>').description('every split: rates with 95% intervals, lift against the control, p-value, sample-ratio check'))
    .option('--version <n>', 'the version (default: the latest with data)')
    .option('--goal <goal>', "the goal (default: the journey's first)")
    .option('--control <arm>', 'the arm to compare with (default: the holdout, the arm with no steps)')
    .action(async (journeyId: string, options: Record<string, unknown>) => {
      const query = parsed(ExperimentReportQuery, options);
      print(await withDatabase((db) => experimentReport(db, journeyId, query)), options, formatExperimentReport);
    });

  period(report.command('attribution').description('conversions and revenue credited per channel, journey, step and template'))
    .option('--model <model>', ATTRIBUTION_MODELS.join(' | '), 'linear')
    .option('--journey <journeyId>', 'one journey only')
    .option('--goal <goal>', 'one goal only')
    .action(async (options: Record<string, unknown>) => {
      const { journey, ...query } = parsed(AttributionReportQuery, options);
      print(await withDatabase((db) => attributionReport(db, { ...query, journeyId: journey })), options, formatAttributionReport);
    });

  period(report.command('engagement').description('opens and clicks per send step: open and click rates, machine ones apart'))
    .option('--journey <journeyId>', 'one journey only')
    .action(async (options: Record<string, unknown>) => {
      const { journey, ...query } = parsed(EngagementReportQuery, options);
      print(await withDatabase((db) => engagementReport(db, { ...query, journeyId: journey })), options, formatEngagementReport);
    });

  period(report.command('journey-experiment <experimentId>').description('a cross-journey experiment (JOURNEY_EXPERIMENTS): conversion, revenue, messages and unsubscribes per arm'))
    .action(async (experimentId: string, options: Record<string, unknown>) => {
      const query = parsed(JourneyExperimentReportQuery, options);
      print(await withDatabase((db) => journeyExperimentReport(db, experimentId, query)), options, formatJourneyExperimentReport);
    });

  period(report.command('global-control').description('the global control group (GLOBAL_CONTROL_PERCENT) against everyone else, for any event'))
    .requiredOption('--event <event>', 'the event that counts, e.g. "Order Completed"')
    .action(async (options: Record<string, unknown>) => {
      const query = parsed(GlobalControlReportQuery, options);
      const controlPercent = loadConfig().GLOBAL_CONTROL_PERCENT;
      print(await withDatabase((db) => globalControlReport(db, { ...query, controlPercent })), options, formatGlobalControlReport);
    });
}
