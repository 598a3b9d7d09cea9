/**
 * A Database whose Nth store call fails once, as a blip would: 'before' the server sees it (the
 * request is lost) or 'after' (the write landed, the answer is lost). Counts every call of every
 * collection, so a test can fail each call of a path in turn.
 */
import { MongoNetworkError, type Collection, type Document } from 'mongodb';
import type { Collections, Database } from '../../store/db.js';

export type FaultTiming = 'before' | 'after';

const CALLS = new Set(['find', 'findOne', 'insertOne', 'insertMany', 'updateOne', 'updateMany', 'deleteOne', 'deleteMany', 'bulkWrite', 'countDocuments', 'aggregate']);

export function withStoreFault(db: Database, fault: { at: number; timing: FaultTiming } | undefined): { db: Database; calls(): number } {
  let calls = 0;
  const injected = () => new MongoNetworkError(`injected fault at store call ${fault?.at}`);
  function wrap<T extends Document>(collection: Collection<T>): Collection<T> {
    return new Proxy(collection, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof prop !== 'string' || !CALLS.has(prop) || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
          if (++calls !== fault?.at) return call();
          // A cursor (find, aggregate) fails when it is read; reads have no effect to lose.
          if (prop === 'find' || prop === 'aggregate') return Object.assign(call() as object, { toArray: () => Promise.reject(injected()) });
          if (fault.timing === 'before') return Promise.reject(injected());
          return (call() as Promise<unknown>).then(() => Promise.reject(injected()));
        };
      },
    });
  }
  const collections = Object.fromEntries(Object.entries(db.collections).map(([name, c]) => [name, wrap(c as Collection<Document>)])) as unknown as Collections;
  return { db: { ...db, collections }, calls: () => calls };
}
