/**
 * How a conversion's credit is shared among the messages that preceded it in the goal's window.
 * Each model returns one weight per touch (in time order), summing to 1.
 */
export const ATTRIBUTION_MODELS = ['last-touch', 'first-touch', 'linear', 'position-based', 'time-decay'] as const;
export type AttributionModel = (typeof ATTRIBUTION_MODELS)[number];

/** A delivered message: its step and when it went out (ms). */
export interface Touch {
  stepId: string;
  at: number;
}

/** Position-based (U-shaped): 40% to the first touch, 40% to the last, 20% shared by those between. */
const ENDS_SHARE = 0.4;

export function creditWeights(model: AttributionModel, touches: readonly Touch[], convertedAt: number, halfLifeMs: number): number[] {
  const n = touches.length;
  if (n === 0) return [];
  switch (model) {
    case 'last-touch':
      return touches.map((_, i) => (i === n - 1 ? 1 : 0));
    case 'first-touch':
      return touches.map((_, i) => (i === 0 ? 1 : 0));
    case 'linear':
      return touches.map(() => 1 / n);
    case 'position-based':
      if (n <= 2) return touches.map(() => 1 / n);
      return touches.map((_, i) => (i === 0 || i === n - 1 ? ENDS_SHARE : (1 - 2 * ENDS_SHARE) / (n - 2)));
    case 'time-decay': {
      // A touch's weight halves with every half-life between it and the conversion.
      const raw = touches.map((t) => 2 ** (-Math.max(0, convertedAt - t.at) / halfLifeMs));
      const sum = raw.reduce((a, b) => a + b, 0);
      return raw.map((w) => w / sum);
    }
  }
}

/** Revenue of a goal event, as Segment's e-commerce spec names it: `revenue`, else `value`, else `total`. */
export function revenueOf(properties: Record<string, unknown>): number {
  for (const key of ['revenue', 'value', 'total']) {
    const value = properties[key];
    const amount = typeof value === 'string' ? Number(value) : value;
    if (typeof amount === 'number' && Number.isFinite(amount)) return amount;
  }
  return 0;
}
