/**
 * The segment clock: applies the changes time makes, minute by minute from its watermark, each
 * minute one equality read of the dues filed under it (store/segment-dues.ts). Run by one schedule
 * per deployment, so it is the single writer of its watermark; a run after an outage catches up on
 * every minute it missed. A due counts the customer, not the segment: each due customer's segments
 * are evaluated afresh, suppression and consent changes noted by other processes included.
 */
import pMap from 'p-map';
import type { Database } from '../store/db.js';
import { advanceClock, clearDues, duesIn, minuteOf, nextMinute, readClock } from '../store/segment-dues.js';
import type { SegmentEngine } from './engine.js';

/** Customers evaluated side by side. */
const CUSTOMERS_IN_PARALLEL = 16;
/**
 * A first run (no watermark yet) looks back this far for dues noted before it: setup creates the
 * schedule before any server takes events, so an hour is ample, and costs 60 reads once.
 */
const FIRST_LOOK_BACK_MS = 3_600_000;

export interface ClockReport {
  minutes: number;
  customers: number;
}

/** `progress` hears of every customer applied: the activity heartbeats with it, so a run whose worker died is retried within its heartbeat timeout. */
export async function applyDueChanges(db: Database, segments: SegmentEngine, now: () => number = Date.now, progress: (report: ClockReport) => void = () => {}): Promise<ClockReport> {
  const { segmentDues, segmentClock } = db.collections;
  const at = now();
  const current = minuteOf(new Date(at));
  let minute = (await readClock(segmentClock)) ?? minuteOf(new Date(at - FIRST_LOOK_BACK_MS));
  const report = { minutes: 0, customers: 0 };
  while (minute <= current) {
    const due = (await duesIn(segmentDues, minute)).filter((d) => d.dueAt.getTime() <= at);
    const customers = [...new Set(due.map((d) => d.userId))];
    let applied = 0;
    await pMap(
      customers,
      async (userId) => {
        await segments.refresh(userId, 'time');
        progress({ minutes: report.minutes, customers: report.customers + ++applied });
      },
      { concurrency: CUSTOMERS_IN_PARALLEL },
    );
    // Cleared only once applied: a run cut short finds them again.
    await clearDues(segmentDues, due.map((d) => d._id));
    report.minutes += 1;
    report.customers += customers.length;
    // The current minute may still get dues for its remaining seconds: the watermark stays on it.
    if (minute === current) break;
    minute = nextMinute(minute);
    await advanceClock(segmentClock, minute);
  }
  return report;
}
