/**
 * Replays recorded workflow histories against a build of the journeys, the check to run before
 * deploying a change: a history that no longer replays is an instance the change would break.
 */
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface ReplayOutcome {
  workflowId: string;
  error?: string;
}

export type WorkflowBuild = { workflowsPath: string } | { workflowBundle: { code: string } | { codePath: string } };

export async function* replayHistories(
  build: WorkflowBuild,
  histories: AsyncIterable<HistoryAndWorkflowId> | Iterable<HistoryAndWorkflowId>,
): AsyncIterable<ReplayOutcome> {
  for await (const result of Worker.runReplayHistories(build, histories)) {
    yield { workflowId: result.workflowId, ...(result.error ? { error: result.error.message } : {}) };
  }
}

/** Histories saved as JSON files under a folder (recursively); the workflow id is the file's path. */
export async function historyFiles(dir: string): Promise<HistoryAndWorkflowId[]> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(await readFile(path.join(dir, file), 'utf8'))),
    })),
  );
}
