/**
 * What the edge accepts, the same on every route that takes events (docs/events.md, "Limits"), beside the
 * rules for ids and keys in store/field-rules.ts: sizes and nesting, so no event costs more than it
 * is worth, and how far ahead of our clock an event may be dated.
 */

/** Segment's own limits: larger events and batches are refused with 413. Counted after decompression. */
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
export const MAX_BATCH_EVENTS = 2_500;

/** Objects and arrays inside a body, counted from the body itself. */
export const MAX_NESTING = 32;

/** An event dated further ahead of our clock than this is taken as happening when it arrived. */
export const FUTURE_TOLERANCE_MS = 10 * 60_000;
