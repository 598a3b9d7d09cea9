/**
 * The Segment spec's messages (track, identify, page, screen, group, alias), validated at the edge.
 * Unknown fields are kept, as Segment keeps them; a bad field is reported by its path.
 */
import { z } from 'zod';
import { Id, unstorableParts, Text, type FieldProblem } from '../store/field-rules.js';
import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from './limits.js';
import { SEGMENT_EVENT_PREFIX } from '../workflows/sdk/segment-events.js';
import { BROADCAST_EVENT_PREFIX } from '../workflows/sdk/broadcast-events.js';

/** A track event's name; those of segment membership changes and broadcasts are the engine's own (see segment-events.ts). */
const EventName = Text(200, 'event name is required')
  .min(1, 'event name is required')
  .refine((name) => !name.startsWith(SEGMENT_EVENT_PREFIX), `event names starting with "${SEGMENT_EVENT_PREFIX}" are segment membership changes, which only the engine sends`)
  .refine((name) => !name.startsWith(BROADCAST_EVENT_PREFIX), `event names starting with "${BROADCAST_EVENT_PREFIX}" are broadcasts' entries into journeys, which only the engine sends`);

const Timestamp = z.iso.datetime({ offset: true });
const Properties = z.record(z.string(), z.unknown()).default({});
/** Traits are stored as profile fields, so every part of them, however deep, must be one the store takes. */
const Traits = z
  .record(z.string(), z.unknown())
  .superRefine((traits, ctx) => {
    for (const { path, message } of unstorableParts(traits)) ctx.addIssue({ code: 'custom', path, message });
  })
  .default({});

/** analytics.js sends `userId: null` for a visitor not yet identified: the same as no userId. */
const OptionalId = Id.nullish().transform((id) => id ?? undefined);

const Common = {
  userId: OptionalId,
  anonymousId: OptionalId,
  messageId: Id.optional(),
  /** When it happened, by the sender's clock (`originalTimestamp` in RudderStack's naming). */
  timestamp: Timestamp.optional(),
  originalTimestamp: Timestamp.optional(),
  /** When the sender sent it, by the same clock: the difference to our clock is its skew. */
  sentAt: Timestamp.optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  integrations: z.record(z.string(), z.unknown()).optional(),
};

const needsIdentity = <T extends { userId?: string; anonymousId?: string }>(value: T, ctx: z.RefinementCtx) => {
  if (!value.userId && !value.anonymousId) {
    ctx.addIssue({ code: 'custom', path: ['userId'], message: 'userId or anonymousId is required' });
  }
};

const Viewed = { name: z.string().optional(), category: z.string().optional(), properties: Properties };

/**
 * RudderStack's JavaScript SDK sends an identify's traits in `context.traits`, where the Segment spec
 * also allows them: those are the identify's traits, under any it carries itself.
 */
function withContextTraits(value: unknown): unknown {
  if (!value || typeof value !== 'object') return value;
  const { traits, context } = value as { traits?: unknown; context?: { traits?: unknown } };
  const fromContext = context && typeof context === 'object' ? context.traits : undefined;
  if (!fromContext || typeof fromContext !== 'object' || Array.isArray(fromContext)) return value;
  return { ...value, traits: { ...fromContext, ...(traits && typeof traits === 'object' ? traits : {}) } };
}

export const MessageSchemas = {
  track: z.looseObject({ ...Common, type: z.literal('track'), event: EventName, properties: Properties }).superRefine(needsIdentity),
  identify: z.preprocess(withContextTraits, z.looseObject({ ...Common, type: z.literal('identify'), traits: Traits }).superRefine(needsIdentity)),
  page: z.looseObject({ ...Common, type: z.literal('page'), ...Viewed }).superRefine(needsIdentity),
  screen: z.looseObject({ ...Common, type: z.literal('screen'), ...Viewed }).superRefine(needsIdentity),
  group: z.looseObject({ ...Common, type: z.literal('group'), groupId: Id, traits: Traits }).superRefine(needsIdentity),
  alias: z.looseObject({ ...Common, type: z.literal('alias'), userId: Id, previousId: Id }),
};

export type MessageType = keyof typeof MessageSchemas;
export const MESSAGE_TYPES = Object.keys(MessageSchemas) as MessageType[];
export type Message = { [T in MessageType]: z.output<(typeof MessageSchemas)[T]> }[MessageType];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Only the envelope: each event in it is validated on its own, so one bad event spoils only itself. */
export const BatchSchema = z.looseObject({
  batch: z.array(z.unknown()).min(1, 'batch is empty').max(MAX_BATCH_EVENTS, `at most ${MAX_BATCH_EVENTS} events in one call`),
  context: z.record(z.string(), z.unknown()).optional(),
  sentAt: Timestamp.optional(),
});

const TypeSchema = z.looseObject({ type: z.enum(MESSAGE_TYPES, { message: `type must be one of ${MESSAGE_TYPES.join(', ')}` }) });

export type Parsed = { ok: true; message: Message } | { ok: false; problems: FieldProblem[] };

export function describeIssues(error: z.ZodError, prefix = ''): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)',
    message: issue.message,
  }));
}

/** One message; `type` comes from the body or, on /v1/<type>, from the path. */
export function parseMessage(body: unknown, options: { type?: MessageType; prefix?: string } = {}): Parsed {
  const { prefix = '' } = options;
  if (options.type && body && typeof body === 'object' && !Array.isArray(body)) body = { ...body, type: options.type };
  if (Buffer.byteLength(JSON.stringify(body) ?? '') > MAX_EVENT_BYTES) {
    return { ok: false, problems: [{ field: prefix || '(body)', message: `event is larger than ${MAX_EVENT_BYTES / 1024} KB` }] };
  }
  const typed = TypeSchema.safeParse(body);
  if (!typed.success) return { ok: false, problems: describeIssues(typed.error, prefix) };
  const result = MessageSchemas[typed.data.type].safeParse(body);
  return result.success ? { ok: true, message: result.data as Message } : { ok: false, problems: describeIssues(result.error, prefix) };
}
