/**
 * Replay without two costs the SDK pays for live workers that replay never needs; together they were
 * half of one process's replay time (bench:replay: 98 → 193 histories/s):
 * - Promise hooks that capture a stack trace for every promise the workflow creates, kept for the
 *   `__stack_trace` query. A replay worker answers no queries.
 * - A watchdog thread started for every call into the workflow sandbox. In debug mode, which replay
 *   workers run in, the SDK's sandbox timeout is 4,294,967,295 ms (49.7 days): Node still starts a
 *   thread per call to enforce it. Dropping a 49-day timeout changes no outcome.
 * Both reach into @temporalio/worker 1.24's internals (pinned in package.json). If they move, replay
 * stays correct and only slower, and this says so once.
 */
import vm from 'node:vm';
import { logger } from '../platform/logger.js';

/** `isolateExecutionTimeout` in debug mode (@temporalio/worker lib/worker-options.js). */
const DEBUG_MODE_TIMEOUT_MS = 4_294_967_295;

interface GlobalHandlers {
  install(): void;
  stopPromiseHook(): void;
  promiseHookInstalled: boolean;
}

let lightened = false;

export async function lightenReplayRuntime(): Promise<void> {
  if (lightened) return;
  lightened = true;
  const shared = (await import('@temporalio/worker/lib/workflow/vm-shared.js')) as unknown as { globalHandlers?: Partial<GlobalHandlers> };
  const handlers = shared.globalHandlers;
  if (typeof handlers?.install !== 'function' || typeof handlers.stopPromiseHook !== 'function') {
    logger.warn('replay runs at full SDK cost: @temporalio/worker internals changed (see client/replay-runtime.ts)');
    return;
  }
  // Installing is idempotent: once installed here, the replay worker's own install() keeps our state.
  handlers.install();
  handlers.stopPromiseHook();
  handlers.promiseHookInstalled = false;

  const runInContext = vm.Script.prototype.runInContext;
  vm.Script.prototype.runInContext = function (this: vm.Script, context: vm.Context, options?: vm.RunningScriptOptions) {
    const untimed = options?.timeout === DEBUG_MODE_TIMEOUT_MS ? { ...options, timeout: undefined } : options;
    return runInContext.call(this, context, untimed);
  };
}
