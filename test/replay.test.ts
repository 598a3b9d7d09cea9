/**
 * Replays every recorded history in test/histories against the current workflow code. A change to a
 * journey that would break instances already in flight fails here, naming the history.
 * New fixtures: `npm run record-histories`.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const historiesDir = fileURLToPath(new URL('./histories', import.meta.url));

async function recordedHistories() {
  const files = (await readdir(historiesDir, { recursive: true })).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      file,
      workflowId: `replay/${file}`,
      history: historyFromJSON(JSON.parse(await readFile(path.join(historiesDir, file), 'utf8'))),
    })),
  );
}

async function replayAll(workflowBundle: { code: string } | { codePath: string }) {
  const histories = await recordedHistories();
  const failures: string[] = [];
  const byId = new Map(histories.map((h) => [h.workflowId, h.file]));
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
    if (result.error) failures.push(`${byId.get(result.workflowId)}: ${result.error.message}`);
  }
  return { count: histories.length, failures };
}

describe('replay of recorded histories', () => {
  it('every recorded history replays cleanly against the current journeys', async () => {
    const { count, failures } = await replayAll({ codePath: inject('workflowBundlePath') });
    expect(count).toBeGreaterThanOrEqual(3);
    expect(failures).toEqual([]);
  });

  it('catches a non-deterministic edit: a journey with two steps swapped fails replay', async () => {
    const workflowsPath = fileURLToPath(new URL('./fixtures/reordered-journey-workflows.ts', import.meta.url));
    const bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    const { failures } = await replayAll(bundle);
    expect(failures).toHaveLength(3);
    // The failure names the history and the steps that no longer line up.
    expect(failures.join('\n')).toMatch(
      /cartAbandonment\/completed\.json: .*Nondeterminism.*'cart-reminder-email#1'.*'cart-reminder-sms#1'/,
    );
  });
});
