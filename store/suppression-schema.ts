import { z } from 'zod';
import { CATEGORY_PATTERN } from './consent.js';
import { Id, Text } from './field-rules.js';

const Channel = z.enum(['*', 'email', 'sms', 'audience', 'webhook']);
const Reason = z.enum(['unsubscribe', 'hard-bounce', 'complaint', 'sms-stop', 'manual', 'erasure']);
/** A marketing category ('promotions', 'newsletter', …); absent: every category. */
const Category = z
  .string()
  .regex(CATEGORY_PATTERN, 'letters, digits, "-" and "_" only')
  .refine((name) => name !== 'transactional', 'transactional messages have no category preference')
  .optional();

export const SuppressionSchema = z.object({
  userId: Id,
  channel: Channel,
  category: Category,
  reason: Reason,
  source: Text(200).optional(),
  evidence: Text(2000).optional(),
  /** Absent: permanent. */
  expiresAt: z.iso.datetime({ offset: true }).transform((iso) => new Date(iso)).optional(),
});

export const LiftSchema = z.object({
  userId: Id,
  channel: Channel,
  category: Category,
  reasons: z.array(Reason).min(1),
  source: Text(200).optional(),
});

export const ConsentSchema = z.object({
  userId: Id,
  channel: z.enum(['email', 'sms', 'advertising']),
  category: Category,
  granted: z.boolean(),
  source: Text(200).optional(),
  evidence: Text(2000).optional(),
});
