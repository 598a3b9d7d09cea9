/**
 * Replay throughput: the recorded journey histories replayed many times over against the current
 * build, beside two baselines measured in the same run: the SDK's replay as shipped (before
 * client/replay-runtime.ts lightens it, which cannot be undone in a process, so it runs first), and
 * the shortest fixture replayed as many times, the per-history cost with almost no journey logic.
 * Then the same histories sharded across a process per core, as the CLI's `replay` runs them.
 *   npm run bench:replay [-- copies]
 */
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { historyFiles, replayInProcesses, type WorkflowBuild } from '../client/replay.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { workflowsPath } from '../worker.js';
import { parsePayloadKeys, sealedDataConverter } from '../platform/payload-codec.js';
import { RECORDED_HISTORIES_KEY } from '../test/histories/recorded-key.js';

installTemporalRuntime();
// The recorded histories are sealed with a published key (replay processes inherit it).
process.env.PAYLOAD_KEYS = RECORDED_HISTORIES_KEY;
const dataConverter = sealedDataConverter(parsePayloadKeys(RECORDED_HISTORIES_KEY));
const copies = Number(process.argv[2] ?? 40);
const fixtures = await historyFiles(fileURLToPath(new URL('../test/histories', import.meta.url)));

function manyTimes(histories: HistoryAndWorkflowId[]): HistoryAndWorkflowId[] {
  return Array.from({ length: copies }, (_, i) => histories.map((h) => ({ ...h, workflowId: `${h.workflowId}#${i}` }))).flat();
}

async function rate(build: WorkflowBuild, histories: HistoryAndWorkflowId[], processes = 1): Promise<number> {
  const started = performance.now();
  let failures = 0;
  for await (const outcome of replayInProcesses(build, histories, processes)) if (outcome.error) failures++;
  if (failures) throw new Error(`${failures} histories failed to replay`);
  return histories.length / ((performance.now() - started) / 1000);
}

const logger = new DefaultLogger('WARN');
const journeys = { workflowBundle: await bundleWorkflowCode({ workflowsPath, logger }) };
console.log(`load: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);

const shippedStarted = performance.now();
for await (const outcome of Worker.runReplayHistories({ ...journeys, dataConverter }, manyTimes(fixtures))) if (outcome.error) throw outcome.error;
const shippedRate = (fixtures.length * copies) / ((performance.now() - shippedStarted) / 1000);
console.log(`SDK replay as shipped, one process: ${shippedRate.toFixed(0)} histories/s`);

const journeyRate = await rate(journeys, manyTimes(fixtures));
console.log(`journey histories: ${fixtures.length} fixtures x ${copies} = ${fixtures.length * copies}, ${journeyRate.toFixed(0)} histories/s (${(journeyRate / shippedRate).toFixed(2)}x the SDK as shipped)`);

const events = (h: HistoryAndWorkflowId) => (h.history as { events?: unknown[] }).events?.length ?? 0;
const shortest = fixtures.reduce((a, b) => (events(a) <= events(b) ? a : b));
const floorRate = await rate(journeys, manyTimes(Array.from({ length: fixtures.length }, () => shortest)));
console.log(`baseline (${shortest.workflowId}, ${events(shortest)} events, same count): ${floorRate.toFixed(0)} histories/s`);
console.log(`ratio journeys/baseline: ${(journeyRate / floorRate).toFixed(2)}`);

// What `replay` does by default: a process per core, their start-up included.
const processes = os.availableParallelism();
const shardedRate = await rate(journeys, manyTimes(fixtures), processes);
console.log(`journey histories in ${processes} processes: ${shardedRate.toFixed(0)} histories/s (${(shardedRate / journeyRate).toFixed(2)}x one process)`);
