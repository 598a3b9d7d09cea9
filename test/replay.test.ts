/**
 * Replays every recorded history in test/histories against the current journeys. A change that would
 * break instances in flight fails here, naming the history and the steps. New fixtures:
 * `npm run record-histories`.
 */
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import proto, { type temporal } from '@temporalio/proto';
import type { Payload } from '@temporalio/common';
import { divergence } from '../client/replay-divergence.js';
import { parsePayloadKeys, SEALED_ENCODING, sealingCodec } from '../platform/payload-codec.js';
import { historyFiles, replayInProcesses, type WorkflowBuild } from '../client/replay.js';
import { journeyVersions } from '../workflows/journeys/index.js';
import { runCli } from './support/cli.js';
import { RECORDED_HISTORIES_KEY } from './histories/recorded-key.js';

const historiesDir = fileURLToPath(new URL('./histories', import.meta.url));
// What a replay opens sealed histories with, as the CLI's environment gives it (replay processes inherit it).
process.env.PAYLOAD_KEYS = RECORDED_HISTORIES_KEY;

async function replayAll(build: WorkflowBuild, processes = 1) {
  const failures: string[] = [];
  let count = 0;
  const histories = await historyFiles(historiesDir);
  for await (const outcome of replayInProcesses(build, histories, processes)) {
    count++;
    if (outcome.error) failures.push(`${outcome.workflowId}: ${outcome.error}`);
  }
  return { count, failures };
}

describe('replay of recorded histories', () => {
  it('has a recorded history for every journey version in the build', async () => {
    const recorded = new Set((await historyFiles(historiesDir)).map((h) => h.workflowId.replace(/-[^/]*$/, '')));
    const missing = journeyVersions.map((j) => `${j.id}/v${j.version}`).filter((v) => !recorded.has(v));
    expect(missing, 'record them with npm run record-histories').toEqual([]);
  });

  it('keeps recorded histories sealed with the published test key, and older plain ones as they were', async () => {
    const histories = await historyFiles(historiesDir);
    const sealedOnes = histories.filter((h) => JSON.stringify(h.history).includes(Buffer.from(SEALED_ENCODING).toString('base64')));
    const files = sealedOnes.map((h) => h.workflowId);
    // The journeys whose histories held customers' addresses (issue 30) are re-recorded sealed.
    for (const journey of ['welcomeSeries', 'postPurchaseReview']) expect(files.filter((f) => f.startsWith(`${journey}/`)).length).toBeGreaterThan(0);
    expect(sealedOnes.length).toBeLessThan(histories.length); // some still in plain text, which replay too (below)
    for (const { history } of sealedOnes) expect(JSON.stringify(history)).not.toMatch(/example\.com/);
  });

  it('replays every recorded history cleanly against the current journeys', async () => {
    const { count, failures } = await replayAll({ workflowBundle: { codePath: inject('workflowBundlePath') } });
    expect(count).toBeGreaterThanOrEqual(journeyVersions.length);
    expect(failures).toEqual([]);
  });

  const editedBuild = async (fixture: string) => {
    const workflowsPath = fileURLToPath(new URL(`./fixtures/${fixture}-journey-workflows.ts`, import.meta.url));
    return { workflowBundle: await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') }) };
  };

  // In one process, and sharded across three as `replay` runs on a machine with cores to spare.
  it.each([1, 3])('catches a non-deterministic edit: two sends swapped, nothing else changed (%i process(es))', async (processes) => {
    const { count, failures } = await replayAll(await editedBuild('reordered'), processes);
    expect(count).toBe((await historyFiles(historiesDir)).length);
    expect(failures).toHaveLength(4); // the cart-abandonment histories, and only those
    expect(failures.join('\n')).toMatch(
      /cartAbandonment\/v1-completed\.json: cartAbandonment v1, step "cart-reminder-email" \(history event \d+, ActivityTaskScheduled\): .*Nondeterminism.*'cart-reminder-email#1'.*'cart-reminder-sms#1'/,
    );
  });

  // The timer names its step in its summary; a history recorded before summaries names it by the
  // step the instance last recorded (its ThroughlineStep search attribute).
  it('names the journey, version and step when the divergence is at a timer (a send inserted before the first wait)', async () => {
    const { failures } = await replayAll(await editedBuild('inserted-send'));
    expect(failures).toHaveLength(4);
    for (const failure of failures) expect(failure).toMatch(/: cartAbandonment v1, step "wait-before-reminder" \(history event 7, TimerStarted\): /);
    expect(failures.join('\n')).toContain('v1-completed-before-timer-summaries.json');
  });

  it('names the journey and the step of a sealed history as of a plain one', async () => {
    const plain = (await historyFiles(historiesDir)).find((h) => h.workflowId === 'cartAbandonment/v1-completed.json')!;
    // The same history as a deployment keeps it: its payloads sealed.
    const codec = sealingCodec(parsePayloadKeys(RECORDED_HISTORIES_KEY));
    const history = proto.temporal.api.history.v1.History.decode(proto.temporal.api.history.v1.History.encode(plain.history as temporal.api.history.v1.IHistory).finish());
    const seal = async (value: unknown): Promise<void> => {
      if (!value || typeof value !== 'object') return;
      if ('metadata' in value && 'data' in value && (value as Payload).metadata?.encoding) {
        const [sealed] = await codec.encode([value as Payload]);
        return void Object.assign(value, sealed);
      }
      // Search attributes and patch markers stay readable, as Temporal indexes and matches them.
      for (const [name, child] of Object.entries(value)) if (!['searchAttributes', 'markerRecordedEventAttributes'].includes(name)) await seal(child);
    };
    await seal(history.events);
    expect(JSON.stringify(history.toJSON())).not.toContain('cartAbandonment"');
    const outcomes = [];
    for await (const outcome of replayInProcesses(await editedBuild('reordered'), [{ workflowId: 'sealed', history }], 1)) outcomes.push(outcome);
    expect(outcomes[0]!.error).toMatch(/^cartAbandonment v1, step "cart-reminder-email" \(history event \d+, ActivityTaskScheduled\)/);
  });

  it("names a timer's step from its summary alone", async () => {
    const recorded = (await historyFiles(historiesDir)).find((h) => h.workflowId === 'cartAbandonment/v1-completed.json')!;
    const events = (recorded.history as temporal.api.history.v1.IHistory).events!.filter((e) => !e.upsertWorkflowSearchAttributesEventAttributes);
    const timer = events.find((e) => e.timerStartedEventAttributes)!;
    expect(divergence({ events }, `Nondeterminism error: Activity machine does not handle this event: HistoryEvent(id: ${timer.eventId}, TimerStarted)`)).toBe(
      `cartAbandonment v1, step "wait-before-reminder" (history event ${timer.eventId}, TimerStarted)`,
    );
  });

  it('replays from the CLI a single history file as well as a folder, and names a bad path in one line', async () => {
    const one = await runCli(['replay', '--files', `${historiesDir}/cartAbandonment/v1-completed.json`, '--processes', '1'], {});
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^ok {3}v1-completed\.json$/m);
    expect(one.stdout).toMatch(/replayed 1 histories in [\d.]+ s(, \d+\/s)?: 1 ok, 0 nondeterministic/);
    const missing = await runCli(['replay', '--files', '/no/such/histories'], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('replay: /no/such/histories: no such file or folder');
  });
});
