import { z } from 'zod';

const Channel = z.enum(['*', 'email', 'sms', 'audience', 'webhook']);
const Reason = z.enum(['unsubscribe', 'hard-bounce', 'complaint', 'sms-stop', 'manual', 'erasure']);

export const SuppressionSchema = z.object({
  userId: z.string().min(1),
  channel: Channel,
  reason: Reason,
  source: z.string().optional(),
  evidence: z.string().optional(),
  /** Absent: permanent. */
  expiresAt: z.iso.datetime({ offset: true }).transform((iso) => new Date(iso)).optional(),
});

export const LiftSchema = z.object({
  userId: z.string().min(1),
  channel: Channel,
  reasons: z.array(Reason).min(1),
  source: z.string().optional(),
});

export const ConsentSchema = z.object({
  userId: z.string().min(1),
  channel: z.enum(['email', 'sms', 'advertising']),
  granted: z.boolean(),
  source: z.string().optional(),
  evidence: z.string().optional(),
});
