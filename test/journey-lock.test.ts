/**
 * Published journey versions are immutable: the lock (workflows/journeys/versions.lock.json) holds
 * each version's fingerprint, CI fails naming the journey, version and part when one changes, and
 * `journeys check` lists instances in flight that a build would run differently. The edits below
 * are the ones that passed replay before: each silently changed what customers in flight get.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInFlight } from '../client/journey-check.js';
import { compareWithLock, describeChange, readLock, type JourneyLock } from '../client/journey-lock.js';
import { waitUntil } from '../stack/wait-until.js';
import { journeyVersion, journeyVersions } from '../workflows/journeys/index.js';
import { isIn } from '../workflows/sdk/conditions.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import type { JourneyDefinition } from '../workflows/sdk/journey.js';
import { send, setting, wait, type Step } from '../workflows/sdk/steps.js';
import { runCli } from './support/cli.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let lock: JourneyLock;
beforeAll(async () => {
  lock = await readLock();
});

it('every journey version in the build is locked, and matches its lock', () => {
  const { unlocked, changed } = compareWithLock(journeyVersions, lock);
  expect(
    changed.map(describeChange),
    'published versions are immutable: put the change in a new version beside the old one',
  ).toEqual([]);
  expect(unlocked.map((j) => `${j.id} v${j.version}`), 'lock new versions with: npm run cli -- journeys lock').toEqual([]);
});

/** A shipped version with its steps edited in place, as a developer might, without a version bump. */
function edited(id: string, version: number, edit: (steps: Step[]) => Step[], extra: Partial<JourneyDefinition> = {}): JourneyDefinition {
  const shipped = journeyVersion(id, version)!;
  return { ...shipped, ...extra, steps: edit(structuredClone(shipped.steps)) };
}

const changesOf = (journey: JourneyDefinition) => compareWithLock([journey], lock).changed.map(describeChange);
const replaceStep = (steps: Step[], id: string, by: (step: Step) => Step): Step[] => steps.map((s) => (s.id === id ? by(s) : s));

describe('edits to a published version are named by the part they change', () => {
  it("a wait's duration, given as a literal instead of the setting", () => {
    const journey = edited('cartAbandonment', 1, (steps) => replaceStep(steps, 'wait-for-order', () => wait('wait-for-order', '48 hours')));
    expect(changesOf(journey)).toEqual(['cartAbandonment v1: step "wait-for-order" changed']);
  });

  it('two waits swapping their durations', () => {
    const journey = edited('cartAbandonment', 1, (steps) =>
      replaceStep(replaceStep(steps, 'wait-before-reminder', () => wait('wait-before-reminder', setting('orderWindow'))), 'wait-for-order', () =>
        wait('wait-for-order', setting('reminderDelay')),
      ),
    );
    expect(changesOf(journey)).toEqual(['cartAbandonment v1: step "wait-before-reminder" changed, step "wait-for-order" changed']);
  });

  it("a setting's default", () => {
    const shipped = journeyVersion('cartAbandonment', 1)!;
    const journey = edited('cartAbandonment', 1, (steps) => steps, { settings: { ...shipped.settings, orderWindow: '48 hours' } });
    expect(changesOf(journey)).toEqual(['cartAbandonment v1: setting "orderWindow" changed']);
  });

  it('a widened branch condition', () => {
    const journey = edited('welcomeSeries', 2, (steps) =>
      replaceStep(steps, 'by-signup-source', (step) => {
        if (step.kind !== 'branch') throw new Error('expected the branch');
        return { ...step, cases: [{ ...step.cases[0]!, when: isIn('profile.signup_source', ['referral', 'partner']) }] };
      }),
    );
    expect(changesOf(journey)).toEqual(['welcomeSeries v2: step "by-signup-source" changed']);
  });

  it("a split's percentages, 45/45 to 40/50", () => {
    const journey = edited('winBack', 1, (steps) =>
      replaceStep(steps, 'subject-test', (step) => {
        if (step.kind !== 'split') throw new Error('expected the split');
        const [a, b, holdout] = step.variants;
        return { ...step, variants: [{ ...a!, percent: 40 }, { ...b!, percent: 50 }, holdout!] };
      }),
    );
    expect(changesOf(journey)).toEqual(['winBack v1: step "subject-test" changed']);
  });

  it('a send inserted before the first wait', () => {
    const journey = edited('cartAbandonment', 1, (steps) => [send('early-email', { channel: 'email', template: 'cart-reminder', category: 'marketing' }), ...steps]);
    expect(changesOf(journey)).toEqual(['cartAbandonment v1: order of steps changed, step "early-email" added']);
  });

  it("but not the description or a send's template: wording may change under customers in flight", () => {
    const journey = edited(
      'cartAbandonment',
      1,
      (steps) => replaceStep(steps, 'cart-reminder-email', (step) => ({ ...step, template: 'cart-reminder-v2' }) as Step),
      { description: 'reworded' },
    );
    expect(changesOf(journey)).toEqual([]);
  });
});

describe('npm run cli -- journeys lock', () => {
  it('adds new versions, and refuses to overwrite a changed one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'journey-lock-'));
    const file = path.join(dir, 'versions.lock.json');
    const { welcomeSeries: _removed, ...withoutWelcome } = lock;
    await writeFile(file, JSON.stringify(withoutWelcome));
    const added = await runCli(['journeys', 'lock', '--file', file], {});
    expect(added.stdout).toContain('locked welcomeSeries v1, welcomeSeries v2');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(lock);
    expect((await runCli(['journeys', 'lock', '--file', file], {})).stdout).toContain('the lock is up to date');

    const tampered = structuredClone(lock);
    tampered.cartAbandonment!['1']!.parts['step wait-for-order'] = '0000000000000000';
    tampered.cartAbandonment!['1']!.definition = '0000000000000000';
    await writeFile(file, JSON.stringify(tampered));
    const refused = await runCli(['journeys', 'lock', '--file', file], {});
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('CHANGED cartAbandonment v1: step "wait-for-order" changed');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(tampered);
  });
});

describe('journeys check: instances in flight against the build about to be deployed', () => {
  let system: TestSystem;
  let userId: string;
  beforeAll(async () => {
    system = await startTestSystem();
    userId = uniqueId('inflight');
    await system.track(userId, 'Checkout Started', { cart_id: 'c-1' });
    await waitUntil(
      async () => (await checkInFlight(system.temporal, journeyVersions, lock, system.config.TEMPORAL_TASK_QUEUE)).checked === 1,
      20_000,
      'the instance in visibility',
    );
  });
  afterAll(() => system?.close());

  it('passes when the build runs what the instances started with', async () => {
    const cli = await runCli(['journeys', 'check'], system.env);
    expect(cli.stdout).toContain('1 instances in flight checked: 1 run the definition they started with, 0 would not');
    expect(cli.code).toBe(0);
  });

  it('lists an instance whose version the build changed, or no longer has', async () => {
    // The instance runs the latest version, 2.
    const changedWait = edited('cartAbandonment', 2, (steps) => replaceStep(steps, 'wait-for-order', () => wait('wait-for-order', '48 hours')));
    const build = journeyVersions.map((j) => (j.id === 'cartAbandonment' && j.version === 2 ? changedWait : j));
    const workflowId = journeyWorkflowId('cartAbandonment', userId);
    expect((await checkInFlight(system.temporal, build, lock, system.config.TEMPORAL_TASK_QUEUE)).drifted).toEqual([
      // The SMS was inside the wait for a click, which the edit replaced with a plain wait.
      { workflowId, journeyId: 'cartAbandonment', version: 2, reason: 'step "wait-for-order" changed, step "cart-reminder-sms" removed' },
    ]);
    const withoutCart = journeyVersions.filter((j) => j.id !== 'cartAbandonment');
    expect((await checkInFlight(system.temporal, withoutCart, lock, system.config.TEMPORAL_TASK_QUEUE)).drifted).toEqual([
      { workflowId, journeyId: 'cartAbandonment', version: 2, reason: 'this version is not in the build' },
    ]);
  });
});
