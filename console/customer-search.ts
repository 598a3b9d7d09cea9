/**
 * The customers an operator means by what they typed: a userId, an email address or a phone number,
 * each an exact, indexed match. The customers page and a segment's member search both ask this.
 */
import { toE164 } from '../activities/phone-number.js';
import type { Database } from '../store/db.js';
import { userIdsByPhone } from '../store/profiles.js';

export async function customersMatching(db: Database, q: string): Promise<string[]> {
  if (!q) return [];
  const ids = new Set<string>();
  if (await db.collections.profiles.findOne({ _id: q }, { projection: { _id: 1 } })) ids.add(q);
  for (const p of await db.collections.profiles.find({ 'traits.email': q }, { projection: { _id: 1 } }).toArray()) ids.add(p._id);
  const phone = toE164(q);
  if (phone) for (const id of await userIdsByPhone(db.collections.profiles, phone)) ids.add(id);
  return [...ids];
}
