/**
 * Reports over a large ledger, and whether the rollup keeps up with sending. Cart-abandonment traffic
 * is written as the journeys would write it (per instance: six step records, three ledger entries,
 * and a conversion for one in ten), in rounds of a minute's worth at SENDS_PER_SECOND, each round
 * folded as the rollup schedule would fold it. Printed per ledger size:
 *   - the journey, experiment and attribution reports' time, beside the baseline of the same funnel
 *     counted from the raw ledger (an aggregation over every entry);
 *   - the fold's rate in sends per second, beside the rate the same records were written at.
 *   npm run bench:report [-- 200000]
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stackLogger } from '../platform/logger.js';
import { attributionReport } from '../reports/attribution-report.js';
import { experimentReport } from '../reports/experiment-report.js';
import { journeyReport } from '../reports/journey-report.js';
import { foldIntoRollups } from '../reports/rollup.js';
import { startStack } from '../stack/index.js';
import { openDatabase, type Database } from '../store/db.js';
import { cartTraffic, SENDS_PER_INSTANCE } from './cart-traffic.js';

const LEDGER_TARGET = Number(process.argv[2] ?? 200_000);
const SENDS_PER_SECOND = Number(process.env.SENDS_PER_SECOND ?? 500);
const SENDS_PER_ROUND = SENDS_PER_SECOND * 60;
const DAY = 86_400_000;

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
};

async function funnelFromLedger(db: Database): Promise<number> {
  const rows = await db.collections.ledger.aggregate([{ $match: { journeyId: 'cartAbandonment' } }, { $group: { _id: { step: '$stepId', reason: '$reason' }, n: { $sum: 1 } } }]).toArray();
  return rows.length;
}

const stack = await startStack({ dataDir: await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-')), log: stackLogger });
const db = await openDatabase(stack.mongoUrl, `bench_report_${Date.now().toString(36)}`);
try {
  console.log(`reports over a growing ledger, cart abandonment at ${SENDS_PER_SECOND} sends/s folded each minute (${stack.store}):`);
  const instancesPerRound = Math.floor(SENDS_PER_ROUND / SENDS_PER_INSTANCE);
  let ledgerSize = 0;
  let nextReport = Math.min(20_000, LEDGER_TARGET);
  for (let round = 0; ledgerSize < LEDGER_TARGET; round++) {
    const count = Math.min(instancesPerRound, Math.ceil((LEDGER_TARGET - ledgerSize) / SENDS_PER_INSTANCE));
    const traffic = cartTraffic(ledgerSize / SENDS_PER_INSTANCE, count);
    const [, writeMs] = await timed(async () => {
      await db.collections.progress.insertMany(traffic.progress);
      if (traffic.conversions.length) await db.collections.conversions.insertMany(traffic.conversions);
    });
    await db.collections.ledger.insertMany(traffic.ledger);
    ledgerSize += traffic.ledger.length;
    const [folded, foldMs] = await timed(() => foldIntoRollups(db, { lagMs: 0, batchSize: 20_000, halfLifeMs: 7 * DAY }));
    const sends = traffic.ledger.length;
    console.log(
      `  round ${round + 1}: ${folded.progressRecords} step records and ${folded.conversions} conversions (${sends} sends) folded in ${(foldMs / 1000).toFixed(1)} s: ` +
        `${Math.round(sends / (foldMs / 1000))} sends/s (written at ${Math.round(sends / (writeMs / 1000))} sends/s; needed ${SENDS_PER_SECOND}); load ${load()}`,
    );
    if (ledgerSize >= nextReport || ledgerSize >= LEDGER_TARGET) {
      const [, journeyMs] = await timed(() => journeyReport(db, 'cartAbandonment'));
      const [, experimentMs] = await timed(() => experimentReport(db, 'winBack').catch(() => undefined));
      const [, attributionMs] = await timed(() => attributionReport(db, { model: 'time-decay' }));
      const [, rawMs] = await timed(() => funnelFromLedger(db));
      console.log(
        `  ${String(ledgerSize).padStart(7)} ledger entries: journey report ${journeyMs.toFixed(0)} ms, experiment ${experimentMs.toFixed(0)} ms, attribution ${attributionMs.toFixed(0)} ms; ` +
          `baseline, the funnel counted from the raw ledger: ${rawMs.toFixed(0)} ms; load ${load()}`,
      );
      nextReport *= 2;
    }
  }
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
} finally {
  await db.db.dropDatabase().catch(() => undefined);
  await db.close();
  await stack.stop();
}
