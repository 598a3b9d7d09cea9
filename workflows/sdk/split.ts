/**
 * Deterministic assignment to split variants, a hash of (journey, step, user), so a customer lands in
 * the same variant on every replay and every re-entry, with no stored state; and to the global
 * control group, a hash of the user alone, the same for every journey.
 */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A stable bucket, 0 .. 9,999. */
const bucketOf = (seed: string) => fnv1a(seed) % 10_000;

/** In the global control group (GLOBAL_CONTROL_PERCENT of customers): no marketing from any journey. */
export function inGlobalControl(userId: string, percent: number): boolean {
  return percent > 0 && bucketOf(`global-control:${userId}`) < percent * 100;
}

export function chooseVariant<V extends { name: string; percent: number }>(variants: V[], seed: string): V {
  const point = bucketOf(seed) / 100; // 0.00 .. 99.99
  let upTo = 0;
  for (const variant of variants) {
    upTo += variant.percent;
    if (point < upTo) return variant;
  }
  return variants[variants.length - 1]!;
}
