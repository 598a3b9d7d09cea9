/**
 * `npm run test:repeat -- N [files or filters...]`: runs the chosen test files N times, one whole
 * vitest run each (a fresh stack every time, as CI has), and reports every test that failed at least
 * once with how often, and the first line of each distinct error. A flaky test shows here as 1 of N,
 * not as a red CI once a week. Exits non-zero if any run failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../../stack/paths.js';

const JsonReport = z.object({
  testResults: z.array(
    z.object({
      name: z.string(),
      assertionResults: z.array(z.object({ fullName: z.string(), status: z.string(), failureMessages: z.array(z.string()).default([]) })),
    }),
  ),
});

const [countArg, ...filters] = process.argv.slice(2);
const runs = Number(countArg);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('usage: npm run test:repeat -- N [test files or filters...]');
  process.exit(2);
}

const failures = new Map<string, { count: number; errors: Set<string> }>();
const totals = new Map<string, number>();
const work = await mkdtemp(path.join(os.tmpdir(), 'throughline-repeat-'));
let failedRuns = 0;
try {
  for (let run = 1; run <= runs; run++) {
    const outputFile = path.join(work, `run-${run}.json`);
    const started = Date.now();
    const result = spawnSync('npx', ['vitest', 'run', '--reporter=dot', '--reporter=json', `--outputFile.json=${outputFile}`, ...filters], {
      cwd: projectRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const report = JsonReport.parse(JSON.parse(await readFile(outputFile, 'utf8').catch(() => '{"testResults":[]}')));
    let failed = 0;
    for (const file of report.testResults) {
      for (const test of file.assertionResults) {
        const name = `${path.relative(projectRoot, file.name)} > ${test.fullName}`;
        totals.set(name, (totals.get(name) ?? 0) + 1);
        if (test.status !== 'failed') continue;
        failed++;
        const entry = failures.get(name) ?? { count: 0, errors: new Set<string>() };
        entry.count++;
        for (const message of test.failureMessages) entry.errors.add(message.split('\n')[0]!.slice(0, 200));
        failures.set(name, entry);
      }
    }
    if (result.status !== 0) failedRuns++;
    console.log(`run ${run}/${runs}: ${failed} failed, exit ${result.status}, ${((Date.now() - started) / 1000).toFixed(0)} s, load ${os.loadavg()[0]!.toFixed(2)}`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

console.log(`\n${totals.size} tests, ${runs} runs: ${failures.size ? `${failures.size} failed at least once` : 'none failed'}`);
for (const [name, { count, errors }] of [...failures].sort((a, b) => b[1].count - a[1].count)) {
  console.log(`  ${count} of ${totals.get(name)}  ${name}`);
  for (const error of errors) console.log(`      ${error}`);
}
process.exit(failedRuns ? 1 : 0);
