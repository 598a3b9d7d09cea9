/**
 * Ends the run with the slowest files (where a run's time goes, to keep the suite short) and one
 * plain line, "vitest: N passed, N failed, N skipped", which CI systems that do not know vitest's
 * own summary can read.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
      // A file that failed to load has no tests to count; count the file as a failure.
      if (module.state() === 'failed' && !module.children.size) counts.failed++;
    }
    const seconds = (module: TestModule) => {
      const d = module.diagnostic();
      return (d.collectDuration + d.duration) / 1000;
    };
    const slowest = [...testModules].sort((a, b) => seconds(b) - seconds(a)).slice(0, 15);
    const total = testModules.reduce((sum, module) => sum + seconds(module), 0);
    process.stdout.write(`\nslowest test files (import and tests; ${total.toFixed(0)} s in all):\n`);
    for (const module of slowest) process.stdout.write(`  ${seconds(module).toFixed(0).padStart(5)} s  ${module.relativeModuleId}\n`);
    process.stdout.write(`\nvitest: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
