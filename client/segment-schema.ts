/**
 * The Segment HTTP tracking API's payloads (track, identify, batch), validated at the edge. Unknown
 * fields are kept, as Segment keeps them; a bad field is reported by its path.
 */
import { z } from 'zod';

const TraitKey = z
  .string()
  .regex(/^[^$.][^.]*$/, 'trait names may not contain "." or start with "$"');

const Common = {
  userId: z.string().min(1).optional(),
  anonymousId: z.string().min(1).optional(),
  messageId: z.string().min(1).max(200).optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  integrations: z.record(z.string(), z.unknown()).optional(),
};

const needsIdentity = <T extends { userId?: string; anonymousId?: string }>(value: T, ctx: z.RefinementCtx) => {
  if (!value.userId && !value.anonymousId) {
    ctx.addIssue({ code: 'custom', path: ['userId'], message: 'userId or anonymousId is required' });
  }
};

export const TrackSchema = z
  .looseObject({
    ...Common,
    type: z.literal('track').optional(),
    event: z.string().min(1, 'event name is required').max(200),
    properties: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine(needsIdentity);

export const IdentifySchema = z
  .looseObject({
    ...Common,
    type: z.literal('identify').optional(),
    traits: z.record(TraitKey, z.unknown()).default({}),
  })
  .superRefine(needsIdentity);

export const BatchSchema = z.looseObject({
  batch: z
    .array(z.looseObject({ type: z.enum(['track', 'identify']) }))
    .min(1, 'batch is empty')
    .max(2_500),
  context: z.record(z.string(), z.unknown()).optional(),
});

export type TrackPayload = z.output<typeof TrackSchema>;
export type IdentifyPayload = z.output<typeof IdentifySchema>;

export interface FieldProblem {
  field: string;
  message: string;
}

export function describeIssues(error: z.ZodError, prefix = ''): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)',
    message: issue.message,
  }));
}
