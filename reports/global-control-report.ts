/**
 * The global control group's lift: of the known customers, how many in the control group (who get no
 * marketing from any journey) and how many of everyone else did an event in the period, with both
 * rates' intervals, the lift of everyone else over the control and its p-value. Any event counts:
 * orders, sign-ins, unsubscribes. Reads the profiles and the accepted events of the period (kept for
 * DEDUPE_RETENTION), not the rollups: which customers did what is not something a per-day count keeps.
 */
import type { Database } from '../store/db.js';
import { inGlobalControl } from '../workflows/sdk/split.js';
import type { Period } from './journey-report.js';
import { compareRates, enoughData, wilsonInterval, type Comparison, type Interval } from './statistics.js';

export interface GroupResult {
  customers: number;
  converters: number;
  rate?: number;
  interval: Interval;
}

export interface GlobalControlReport {
  event: string;
  period: Period;
  controlPercent: number;
  control: GroupResult;
  everyoneElse: GroupResult;
  /** Everyone else against the control; absent with too little data. */
  comparison?: Comparison;
  notEnoughData?: boolean;
}

const DAY = 86_400_000;

function group(customers: number, converters: number): GroupResult {
  return { customers, converters, ...(customers ? { rate: converters / customers } : {}), interval: wilsonInterval(converters, customers) };
}

export async function globalControlReport(db: Database, options: Period & { event: string; controlPercent: number }): Promise<GlobalControlReport> {
  const { profiles, inboundEvents } = db.collections;
  const known = (await profiles.find({}, { projection: { _id: 1 } }).toArray()).map((p) => p._id).filter((id) => !id.startsWith('anonymous:'));
  const customers = new Set(known);
  const received = {
    ...(options.from ? { $gte: new Date(options.from) } : {}),
    ...(options.to ? { $lt: new Date(Date.parse(options.to) + DAY) } : {}),
  };
  const claims = await inboundEvents.find({ message: { $exists: true }, ...(Object.keys(received).length ? { receivedAt: received } : {}) }, { projection: { message: 1 } }).toArray();
  const converters = new Set<string>();
  for (const claim of claims) {
    const message = JSON.parse(claim.message!) as { type?: string; event?: string; userId?: string };
    if (message.type === 'track' && message.event === options.event && message.userId && customers.has(message.userId)) converters.add(message.userId);
  }
  const isControl = (userId: string) => inGlobalControl(userId, options.controlPercent);
  const controlIds = known.filter(isControl);
  const control = { conversions: [...converters].filter(isControl).length, entrants: controlIds.length };
  const rest = { conversions: converters.size - control.conversions, entrants: known.length - controlIds.length };
  const enough = enoughData(rest, control);
  return {
    event: options.event,
    period: { from: options.from, to: options.to },
    controlPercent: options.controlPercent,
    control: group(control.entrants, control.conversions),
    everyoneElse: group(rest.entrants, rest.conversions),
    ...(enough ? { comparison: compareRates(rest, control) } : { notEnoughData: true }),
  };
}
