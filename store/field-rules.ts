/**
 * What the store takes, checked at every edge (the Segment schema, the admin API, the CLI): ids become
 * MongoDB `_id`s and Temporal workflow ids, trait keys become MongoDB field names.
 */
import { z } from 'zod';
/** userId, anonymousId, previousId, groupId, messageId: UTF-8 bytes. A userId is part of a journey's
 * workflow id, which Temporal caps at 1,000 bytes. */
export const MAX_ID_BYTES = 255;

/** A key that would set an object's prototype if anything copied it naively. */
export const PROTO_KEY = '__proto__';

/** A lone UTF-16 surrogate (in `u` mode a proper pair is one code point, so only lone halves match). */
const LONE_SURROGATE = /\p{Cs}/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A string field; absent: "is required" rather than zod's type message. */
const str = (required = 'is required') => z.string({ error: (issue) => (issue.input === undefined ? required : 'must be a string') });

/** An id: non-empty, well-formed Unicode, no control characters, at most MAX_ID_BYTES of UTF-8. */
export const Id = str()
  .min(1, 'must not be empty')
  .refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode (a lone surrogate is not)')
  .refine((s) => !CONTROL.test(s), 'must not contain control characters')
  .refine((s) => Buffer.byteLength(s) <= MAX_ID_BYTES, `must be at most ${MAX_ID_BYTES} bytes of UTF-8`)
  .refine((s) => s !== PROTO_KEY, `"${PROTO_KEY}" is not an id`);

/** Free text an operator or a sender gives (sources, evidence, event names): bounded, no NULs. */
export const Text = (maxLength: number, required?: string) =>
  str(required)
    .max(maxLength, `must be at most ${maxLength} characters`)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

/** Why MongoDB (or FerretDB) would refuse `key` as a field name, if it would. */
export function storedKeyProblem(key: string): string | undefined {
  if (!key) return 'empty key';
  if (key.includes('.')) return 'keys may not contain "."';
  if (key.startsWith('$')) return 'keys may not start with "$"';
  if (key.includes('\u0000')) return 'keys may not contain NUL characters';
  if (LONE_SURROGATE.test(key)) return 'keys must be well-formed Unicode';
  return undefined;
}

/**
 * Any text as one field name: '%' and the characters MongoDB reads as path syntax ('.', '$')
 * percent-encoded, so `acme.com` or a step id with a dot stays one key. `fieldName` reverses it.
 */
export function fieldKey(text: string): string {
  return text.replace(/[%.$]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function fieldName(key: string): string {
  return decodeURIComponent(key);
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** Go's white space (unicode.IsSpace), which FerretDB trims from an update path's parts; \s adds U+FEFF. */
const EDGE_SPACE = /^[\s\u0085]|[\s\u0085]$/u;

/**
 * Every part of `value` the store would refuse, by path: keys MongoDB refuses as field names, and
 * arrays directly inside arrays and text holding a NUL, which FerretDB does not store (PostgreSQL's
 * JSONB has no NUL; MongoDB takes both; only what both take). Top-level keys also become update
 * paths (`$set: { 'traits.<key>': … }`), and FerretDB refuses a path part that begins or ends with
 * white space.
 */
export function unstorableParts(value: unknown, path: string[] = []): Array<{ path: string[]; message: string }> {
  if (typeof value === 'string' && value.includes('\u0000')) return [{ path, message: 'text may not contain NUL characters' }];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const problem = Array.isArray(value)
      ? Array.isArray(child) ? 'arrays directly inside arrays are not stored' : undefined
      : storedKeyProblem(key) ?? (path.length === 0 && EDGE_SPACE.test(key) ? 'keys may not begin or end with white space' : undefined);
    return problem ? [{ path: [...path, key], message: problem }] : unstorableParts(child, [...path, key]);
  });
}
