/**
 * The reports as JSON, under the admin API's token: the same figures `npm run cli -- report` prints.
 *   GET /admin/reports/journeys/:journeyId?from&to&version
 *   GET /admin/reports/experiments/:journeyId?from&to&version&goal&control
 *   GET /admin/reports/attribution?model&journey&goal&from&to
 *   GET /admin/reports/engagement?journey&from&to
 *   GET /admin/reports/global-control?event&from&to
 *   GET /admin/reports/journey-experiments/:experimentId?from&to
 */
import type { FastifyInstance } from 'fastify';
import type { Database } from '../store/db.js';
import { attributionReport } from '../reports/attribution-report.js';
import { experimentReport, ReportError } from '../reports/experiment-report.js';
import { journeyReport } from '../reports/journey-report.js';
import { AttributionReportQuery, EngagementReportQuery, ExperimentReportQuery, GlobalControlReportQuery, JourneyExperimentReportQuery, JourneyReportQuery } from '../reports/report-queries.js';
import { globalControlReport } from '../reports/global-control-report.js';
import { journeyExperimentReport } from '../reports/journey-experiment-report.js';
import { engagementReport } from '../reports/engagement-report.js';
import { HttpError, parseBody } from './http-errors.js';

type JourneyParams = { Params: { journeyId: string } };

/** A report asked of a journey or arm this build does not have is the caller's mistake: 404 with the reason. */
async function answering<T>(report: () => Promise<T>): Promise<T> {
  try {
    return await report();
  } catch (err) {
    if (err instanceof ReportError) throw new HttpError(404, err.message);
    throw err;
  }
}

export function registerReportRoutes(app: FastifyInstance, db: Database, options: { globalControlPercent: number }): void {
  app.get<JourneyParams>('/admin/reports/journeys/:journeyId', async (request) =>
    journeyReport(db, request.params.journeyId, parseBody(JourneyReportQuery, request.query)),
  );
  app.get<JourneyParams>('/admin/reports/experiments/:journeyId', async (request) =>
    answering(() => experimentReport(db, request.params.journeyId, parseBody(ExperimentReportQuery, request.query))),
  );
  app.get('/admin/reports/attribution', async (request) => {
    const { journey, ...query } = parseBody(AttributionReportQuery, request.query);
    return attributionReport(db, { ...query, journeyId: journey });
  });
  app.get<{ Params: { experimentId: string } }>('/admin/reports/journey-experiments/:experimentId', async (request) =>
    answering(() => journeyExperimentReport(db, request.params.experimentId, parseBody(JourneyExperimentReportQuery, request.query))),
  );
  app.get('/admin/reports/engagement', async (request) => {
    const { journey, ...query } = parseBody(EngagementReportQuery, request.query);
    return engagementReport(db, { ...query, journeyId: journey });
  });
  app.get('/admin/reports/global-control', async (request) =>
    globalControlReport(db, { ...parseBody(GlobalControlReportQuery, request.query), controlPercent: options.globalControlPercent }),
  );
}
