/**
 * Calls to one dependency from this process: at most `inFlight` at once, each given `deadlineMs`
 * from when it starts, not from when it was asked for. A burst waits its turn while the dependency
 * keeps answering, so a CDP's batches of new customers are absorbed rather than shed: 128 calls put
 * to the dev server at once answered past a 1.5 s deadline on 2 cores (issue 27), where the same
 * calls in turn each take tens of milliseconds. A call that runs out of time while no call got any
 * answer means the dependency is silent: every call still waiting is refused at once with that
 * error, so the caller's 503 comes as soon as with no gate. One slow call among answered ones fails
 * alone, and the queue carries on.
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
  // When the dependency last answered anything, a refusal of its own included.
  let answeredAt = 0;
  return async <T>(call: () => Promise<T>) => {
    try {
      return await limit(async () => {
        const startedAt = Date.now();
        try {
          const answer = await within(deadlineMs, call, what);
          answeredAt = Date.now();
          return answer;
        } catch (err) {
          const now = Date.now();
          // Failed after its whole deadline (our timer, or the client's own retries giving up).
          const outOfTime = now - startedAt >= deadlineMs;
          if (!outOfTime) answeredAt = now;
          else if (answeredAt < startedAt) {
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
