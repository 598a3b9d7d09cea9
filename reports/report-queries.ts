/** What a report may be asked for, checked the same way for the CLI's options and the admin API's query strings. */
import { z } from 'zod';
import { ATTRIBUTION_MODELS } from './attribution.js';

export const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day, YYYY-MM-DD').optional();
const Version = z.coerce.number().int().positive().optional();
const Name = z.string().min(1).max(255).optional();

export const JourneyReportQuery = z.object({ from: Day, to: Day, version: Version }).strict();
export const ExperimentReportQuery = z.object({ from: Day, to: Day, version: Version, goal: Name, control: Name }).strict();
export const AttributionReportQuery = z
  .object({ from: Day, to: Day, model: z.enum(ATTRIBUTION_MODELS).default('linear'), journey: Name, goal: Name })
  .strict();
export const GlobalControlReportQuery = z.object({ from: Day, to: Day, event: z.string().min(1, 'name the event that counts, e.g. "Order Completed"').max(255) }).strict();
export const JourneyExperimentReportQuery = z.object({ from: Day, to: Day }).strict();
export const EngagementReportQuery = z.object({ from: Day, to: Day, journey: Name }).strict();
