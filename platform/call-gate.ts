/**
 * Calls to one dependency from this process: at most `inFlight` at once, each given `deadlineMs`
 * from when it starts, not from when it was asked for. A burst waits its turn while the dependency
 * keeps answering, so a CDP's batches of new customers are absorbed rather than shed: 128 calls put
 * to the dev server at once answered past a 1.5 s deadline on 2 cores (issue 27), where the same
 * calls in turn each take tens of milliseconds. Once a call runs out of time the dependency is not
 * answering, and every call still waiting is refused at once with that error, rather than each
 * running out of time in turn: the caller's 503 comes as soon as with no gate.
 */
import pLimit from 'p-limit';
import { within } from './deadline.js';

export interface CallGateOptions {
  inFlight: number;
  deadlineMs: number;
  /** Names the dependency in the error: "<what> within <ms> ms". */
  what: string;
}

export type CallGate = <T>(call: () => Promise<T>) => Promise<T>;

export function callGate({ inFlight, deadlineMs, what }: CallGateOptions): CallGate {
  const limit = pLimit({ concurrency: inFlight, rejectOnClear: true });
  // Why the waiting calls were refused; each refused call rejects with it.
  let refusedFor: unknown;
  return async <T>(call: () => Promise<T>) => {
    try {
      return await limit(async () => {
        const startedAt = Date.now();
        try {
          return await within(deadlineMs, call, what);
        } catch (err) {
          // Failed after its whole deadline (our timer, or the client's own retries giving up): not answering.
          if (Date.now() - startedAt >= deadlineMs) {
            refusedFor = err;
            limit.clearQueue();
          }
          throw err;
        }
      });
    } catch (err) {
      throw err instanceof DOMException && err.name === 'AbortError' ? refusedFor : err;
    }
  };
}
