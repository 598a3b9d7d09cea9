/**
 * Declarative, serialisable conditions on event properties and profile traits, for entry filters,
 * branches and waitForEvent. Fields are paths into a scope: `event.*` (the event being looked at),
 * `entry.*` (the event that started the journey), `profile.*` (the customer's traits), `segments.*`
 * (whether the customer is in each segment now: `inSegment('vip')`).
 */
type Scalar = string | number | boolean | null;

export type Condition =
  | { field: string; op: 'eq' | 'neq'; value: Scalar }
  | { field: string; op: 'in' | 'notIn'; values: Scalar[] }
  | { field: string; op: 'exists' | 'missing' }
  | { field: string; op: 'gt' | 'gte' | 'lt' | 'lte'; value: number | string }
  | { field: string; op: 'contains'; value: string }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

export type ConditionScope = Record<string, unknown>;

export const eq = (field: string, value: Scalar): Condition => ({ field, op: 'eq', value });
export const neq = (field: string, value: Scalar): Condition => ({ field, op: 'neq', value });
export const isIn = (field: string, values: Scalar[]): Condition => ({ field, op: 'in', values });
export const exists = (field: string): Condition => ({ field, op: 'exists' });
export const gt = (field: string, value: number | string): Condition => ({ field, op: 'gt', value });
export const gte = (field: string, value: number | string): Condition => ({ field, op: 'gte', value });
export const lt = (field: string, value: number | string): Condition => ({ field, op: 'lt', value });
export const all = (...conditions: Condition[]): Condition => ({ all: conditions });
export const any = (...conditions: Condition[]): Condition => ({ any: conditions });
export const not = (condition: Condition): Condition => ({ not: condition });
/** The customer is in the segment now (its latest version the engine has computed for them). */
export const inSegment = (segment: string): Condition => eq(`segments.${segment}`, true);

/** Every field a condition reads. */
export function fieldsOf(condition: Condition): string[] {
  if ('all' in condition) return condition.all.flatMap(fieldsOf);
  if ('any' in condition) return condition.any.flatMap(fieldsOf);
  if ('not' in condition) return fieldsOf(condition.not);
  return [condition.field];
}

export function valueAt(scope: ConditionScope, path: string): unknown {
  let value: unknown = scope;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function compare(actual: unknown, expected: number | string): number | undefined {
  if (typeof actual === 'number' && typeof expected === 'number') return actual - expected;
  if (typeof actual === 'string' && typeof expected === 'string') return actual < expected ? -1 : actual > expected ? 1 : 0;
  return undefined;
}

export function evaluate(condition: Condition, scope: ConditionScope): boolean {
  if ('all' in condition) return condition.all.every((c) => evaluate(c, scope));
  if ('any' in condition) return condition.any.some((c) => evaluate(c, scope));
  if ('not' in condition) return !evaluate(condition.not, scope);
  const actual = valueAt(scope, condition.field);
  switch (condition.op) {
    case 'eq':
      return actual === condition.value;
    case 'neq':
      return actual !== condition.value;
    case 'in':
      return condition.values.includes(actual as Scalar);
    case 'notIn':
      return !condition.values.includes(actual as Scalar);
    case 'exists':
      return actual !== undefined && actual !== null;
    case 'missing':
      return actual === undefined || actual === null;
    case 'contains':
      return (typeof actual === 'string' || Array.isArray(actual)) && actual.includes(condition.value);
    default: {
      const order = compare(actual, condition.value);
      if (order === undefined) return false;
      return { gt: order > 0, gte: order >= 0, lt: order < 0, lte: order <= 0 }[condition.op];
    }
  }
}

/** The profile traits these paths read: `profile.address.city` reads the trait `address`. */
export function traitsRead(paths: readonly string[]): string[] {
  return [...new Set(paths.flatMap((path) => (path.startsWith('profile.') ? [path.split('.')[1]!] : [])))];
}

/** The top-level scopes a condition reads, e.g. ['profile'], so callers load only what is needed. */
export function scopesOf(condition: Condition): Set<string> {
  return new Set(fieldsOf(condition).map((field) => field.split('.')[0]!));
}
