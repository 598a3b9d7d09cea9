/**
 * Replays recorded workflow histories against a build of the journeys, the check to run before
 * deploying a change: a history that no longer replays is an instance the change would break.
 */
import type { HistoryAndWorkflowId } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { divergence } from './replay-divergence.js';
import { ErasedPayloadError, sealedDataConverter, type CustomerKeys, type PayloadKey } from '../platform/payload-codec.js';
import { loadConfig, type Config } from '../config.js';
import { openDatabase, type Database } from '../store/db.js';
import { customerKeyStore } from '../store/customer-keys.js';
import { lightenReplayRuntime } from './replay-runtime.js';

/** CommonJS: its namespaces are on the default export. */
const { History } = proto.temporal.api.history.v1;

export interface ReplayOutcome {
  workflowId: string;
  error?: string;
  /** Its customer was erased: the history cannot be read, so there is nothing to replay. */
  erased?: true;
}

export type WorkflowBuild = { workflowsPath: string } | { workflowBundle: { code: string } | { codePath: string } };

/**
 * One replay worker replays one history at a time, so a process uses one core at most. A failure
 * names the journey, version and step where the history and this build part ways. Histories a
 * deployment sealed are opened with the environment's PAYLOAD_KEYS and the customer keys in its
 * MONGODB_URL's database, connected to when a history first needs one (a replay process inherits
 * them); recorded ones in plain text pass as they are.
 */
export async function* replayHistories(
  build: WorkflowBuild,
  histories: AsyncIterable<HistoryAndWorkflowId> | Iterable<HistoryAndWorkflowId>,
): AsyncIterable<ReplayOutcome> {
  await lightenReplayRuntime();
  const pending = new Map<string, HistoryAndWorkflowId['history']>();
  async function* remembered() {
    for await (const item of histories) {
      pending.set(item.workflowId, item.history);
      yield item;
    }
  }
  const config = loadConfig();
  const customerKeys = config.PAYLOAD_KEYS ? openingCustomerKeys(config.PAYLOAD_KEYS, config) : undefined;
  const dataConverter = sealedDataConverter(config.PAYLOAD_KEYS, customerKeys);
  try {
    for await (const result of Worker.runReplayHistories({ ...build, ...(dataConverter ? { dataConverter } : {}) }, remembered())) {
      const history = pending.get(result.workflowId)!;
      pending.delete(result.workflowId);
      if (result.error?.message.includes(new ErasedPayloadError().message)) yield { workflowId: result.workflowId, erased: true };
      else if (result.error) yield { workflowId: result.workflowId, error: `${divergence(await opened(history, dataConverter?.payloadCodecs ?? []), result.error.message)}: ${result.error.message}` };
      else yield { workflowId: result.workflowId };
    }
  } finally {
    await customerKeys?.close();
  }
}

/**
 * The history with what divergence() reads opened (the start's input names the journey, a timer's
 * summary its step): sealed, they would read as nothing. A payload that does not open stays as it is.
 */
async function opened(history: proto.temporal.api.history.v1.IHistory, codecs: readonly PayloadCodec[]): Promise<proto.temporal.api.history.v1.IHistory> {
  if (!codecs.length) return history;
  const copy = History.decode(History.encode(history).finish());
  const open = async (payload: Payload) => {
    try {
      let plain = payload;
      for (const codec of [...codecs].reverse()) [plain] = await codec.decode([plain]);
      Object.assign(payload, { metadata: plain!.metadata, data: plain!.data });
    } catch {
      // left sealed: divergence() names what it can without it
    }
  };
  for (const event of copy.events) {
    for (const payload of event.workflowExecutionStartedEventAttributes?.input?.payloads ?? []) await open(payload as Payload);
    if (event.userMetadata?.summary) await open(event.userMetadata.summary as Payload);
  }
  return copy;
}

/**
 * Customer keys for opening only: a replay seals nothing it keeps, so it makes no keys, and it opens
 * the database only when a history sealed with a customer's key comes.
 */
function openingCustomerKeys(payloadKeys: PayloadKey[], config: Pick<Config, 'MONGODB_URL' | 'MONGODB_DATABASE'>): CustomerKeys & { close(): Promise<void> } {
  let opened: Promise<{ db: Database; keys: CustomerKeys }> | undefined;
  const open = () =>
    (opened ??= openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE).then((db) => ({ db, keys: customerKeyStore(db.collections.customerKeys, payloadKeys, () => undefined) })));
  return {
    ownerOf: () => undefined,
    sealingKey: () => Promise.reject(new Error('a replay makes no customer keys')),
    openingKey: async (id) => (await open()).keys.openingKey(id),
    close: async () => (opened ? (await opened).db.close() : undefined),
  };
}

/** A path given to `replay --files` that holds no history: said in one line, no stack trace. */
export class HistoryPathError extends Error {}

/**
 * Histories saved as JSON (as `temporal workflow show -o json` writes them): one file, or every
 * `.json` file under a folder (recursively); the workflow id is the file's path.
 */
export async function historyFiles(where: string): Promise<HistoryAndWorkflowId[]> {
  const found = await stat(where).catch(() => undefined);
  if (!found) throw new HistoryPathError(`${where}: no such file or folder`);
  const [dir, files] = found.isDirectory()
    ? [where, (await readdir(where, { recursive: true })).filter((f) => f.endsWith('.json')).sort()]
    : [path.dirname(where), [path.basename(where)]];
  if (files.length === 0) throw new HistoryPathError(`${where}: no .json history files in this folder`);
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(path.join(dir, file), 'utf8');
      try {
        return { workflowId: file, history: historyFromJSON(JSON.parse(text)) };
      } catch (err) {
        throw new HistoryPathError(`${path.join(dir, file)}: not a workflow history (${(err as Error).message})`);
      }
    }),
  );
}

/** What a parent sends a replay process (client/replay-process.ts). */
export type ShardMessage = { type: 'history'; workflowId: string; history: Uint8Array } | { type: 'end' };

/** Histories each replay process holds queued, so it never waits for the parent between two. */
const QUEUED_PER_PROCESS = 2;

/**
 * Replays across several processes, a core each: the SDK's replay is CPU-bound and one history at a
 * time per worker, and replay workers in one process share its main thread (measured: no faster).
 * Histories are handed out as processes finish, so a slow one does not hold up the rest; outcomes
 * come in the order they finish. With one process, the replay runs in this one.
 */
export async function* replayInProcesses(
  build: WorkflowBuild,
  histories: AsyncIterable<HistoryAndWorkflowId> | Iterable<HistoryAndWorkflowId>,
  processes: number,
): AsyncIterable<ReplayOutcome> {
  if (processes <= 1) {
    yield* replayHistories(build, histories);
    return;
  }
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-replay-'));
  const codePath = await bundlePath(build, tempDir);
  const source = (Symbol.asyncIterator in histories ? histories[Symbol.asyncIterator]() : histories[Symbol.iterator]()) as AsyncIterator<HistoryAndWorkflowId>;
  const outcomes: ReplayOutcome[] = [];
  let failure: Error | undefined;
  let wake = () => {};
  let inFlight = 0;
  let exhausted = false;
  const ended = new Set<ChildProcess>();

  const feed = async (child: ChildProcess) => {
    if (ended.has(child)) return;
    const next = await source.next();
    if (next.done) {
      exhausted = true;
      ended.add(child);
      child.send({ type: 'end' } satisfies ShardMessage);
      return;
    }
    inFlight++;
    const history = History.encode(next.value.history as proto.temporal.api.history.v1.IHistory).finish();
    child.send({ type: 'history', workflowId: next.value.workflowId, history } satisfies ShardMessage);
  };
  const children: ChildProcess[] = [];
  const start = () => {
    // tsx loads the TypeScript child, whether the parent runs under tsx, vitest or anything else.
    const child = fork(fileURLToPath(new URL('./replay-process.ts', import.meta.url)), [codePath], { serialization: 'advanced', execArgv: ['--import', 'tsx'] });
    child.on('message', (outcome: ReplayOutcome) => {
      inFlight--;
      outcomes.push(outcome);
      wake();
      feed(child).catch((err: Error) => ((failure = err), wake()));
    });
    child.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`a replay process exited with code ${code}`);
      wake();
    });
    children.push(child);
    return child;
  };
  try {
    // A process more only while histories keep coming: a short list does not pay for idle start-ups.
    while (children.length < processes && !exhausted) {
      const child = start();
      for (let i = 0; i < QUEUED_PER_PROCESS; i++) await feed(child);
    }
    for (;;) {
      while (outcomes.length) yield outcomes.shift()!;
      if (failure) throw failure;
      if (inFlight === 0 && ended.size === children.length) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
    await rm(tempDir, { recursive: true, force: true });
  }
}

/** The bundle as a file a replay process can load. */
async function bundlePath(build: WorkflowBuild, tempDir: string): Promise<string> {
  if ('workflowsPath' in build) throw new Error('sharded replay needs a bundle (bundleWorkflowCode), not a workflows path');
  if ('codePath' in build.workflowBundle) return build.workflowBundle.codePath;
  const file = path.join(tempDir, 'workflow-bundle.js');
  await writeFile(file, build.workflowBundle.code);
  return file;
}
