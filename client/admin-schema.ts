import { z } from 'zod';

export const SuppressionSchema = z.object({
  userId: z.string().min(1),
  channel: z.enum(['*', 'email', 'sms', 'audience']),
  reason: z.enum(['unsubscribe', 'hard-bounce', 'complaint', 'sms-stop', 'manual', 'erasure']),
  source: z.string().optional(),
});
