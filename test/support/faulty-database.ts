/**
 * A Database whose store calls fail where `faultAt` says, as a blip would: 'before' the server sees
 * it (the request is lost) or 'after' (the write landed, the answer is lost). Calls are numbered
 * across every collection, so a test can fail each call of a path in turn.
 */
import { MongoNetworkError, type Collection, type Document } from 'mongodb';
import type { Collections, Database } from '../../store/db.js';

export type FaultTiming = 'before' | 'after';

const CALLS = new Set(['find', 'findOne', 'insertOne', 'insertMany', 'updateOne', 'updateMany', 'deleteOne', 'deleteMany', 'bulkWrite', 'countDocuments', 'aggregate']);

export type FaultAt = (call: { n: number; method: string; collection: string }) => FaultTiming | undefined;

/** One fault, at call `at`. */
export const onceAt = (at: number, timing: FaultTiming): FaultAt => ({ n }) => (n === at ? timing : undefined);

export function withStoreFault(db: Database, faultAt: FaultAt = () => undefined): { db: Database; calls(): number } {
  let calls = 0;
  function wrap<T extends Document>(collection: Collection<T>, name: string): Collection<T> {
    return new Proxy(collection, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof prop !== 'string' || !CALLS.has(prop) || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
          const n = ++calls;
          const timing = faultAt({ n, method: prop, collection: name });
          if (!timing) return call();
          const injected = () => new MongoNetworkError(`injected fault at store call ${n} (${prop})`);
          // A cursor (find, aggregate) fails when it is read; reads have no effect to lose.
          if (prop === 'find' || prop === 'aggregate') return Object.assign(call() as object, { toArray: () => Promise.reject(injected()) });
          if (timing === 'before') return Promise.reject(injected());
          return (call() as Promise<unknown>).then(() => Promise.reject(injected()));
        };
      },
    });
  }
  const collections = Object.fromEntries(Object.entries(db.collections).map(([name, c]) => [name, wrap(c as Collection<Document>, name)])) as unknown as Collections;
  return { db: { ...db, collections }, calls: () => calls };
}
