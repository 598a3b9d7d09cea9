/**
 * One replay process of a sharded replay (see replayInProcesses in replay.ts): takes histories from
 * its parent over IPC, one at a time, replays them against the bundle named on its command line and
 * sends each outcome back. Ends when the parent says so.
 */
import type { HistoryAndWorkflowId } from '@temporalio/client';
import proto from '@temporalio/proto';
import { on } from 'node:events';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { replayHistories, type ShardMessage } from './replay.js';

/** CommonJS: its namespaces are on the default export. */
const { History } = proto.temporal.api.history.v1;

installTemporalRuntime();
const codePath = process.argv[2];
if (!codePath || !process.send) throw new Error('run by replay.ts with a bundle path and an IPC channel');

async function* fromParent(): AsyncIterable<HistoryAndWorkflowId> {
  for await (const [message] of on(process, 'message') as AsyncIterable<[ShardMessage]>) {
    if (message.type === 'end') return;
    yield { workflowId: message.workflowId, history: History.decode(message.history) };
  }
}

for await (const outcome of replayHistories({ workflowBundle: { codePath } }, fromParent())) process.send(outcome);
process.disconnect();
