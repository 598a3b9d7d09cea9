/** Every change made through the console: who, when, what, to whom. Insert-only. */
import type { Collection } from 'mongodb';

export interface AuditDoc {
  at: Date;
  /** The console user's name. */
  by: string;
  action: string;
  userId: string;
  details: Record<string, unknown>;
}

export async function audit(log: Collection<AuditDoc>, entry: Omit<AuditDoc, 'at'>): Promise<void> {
  await log.insertOne({ ...entry, at: new Date() });
}

export async function auditOf(log: Collection<AuditDoc>, userId: string): Promise<AuditDoc[]> {
  return log.find({ userId }).sort({ at: -1 }).limit(50).toArray();
}
