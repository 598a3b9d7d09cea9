/**
 * The audience channel's way out of the delivery path: it records the desired membership in MongoDB,
 * with identifiers hashed as the platforms want them, and the audience sync (audience-sync.ts) takes
 * it to each platform in batches. Set semantics: recording the same membership twice changes nothing.
 */
import { createHash } from 'node:crypto';
import { setMembership, type AudienceMemberDoc } from '../store/audiences.js';
import type { Collection } from 'mongodb';
import type { ChannelProvider } from './providers/provider.js';

export interface AudienceChange {
  audience: string;
  action: 'add' | 'remove';
  userId: string;
  email?: string;
  phone?: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Meta's (and most platforms') normalisation before hashing: trimmed, lower-case email. */
const hashedEmail = (email: string) => sha256(email.trim().toLowerCase());

/** Digits only, country code included, no leading zeros or '+': '+44 7911 123456' -> '447911123456'. */
const hashedPhone = (phone: string) => sha256(phone.replace(/\D/g, '').replace(/^0+/, ''));

export function createAudienceMembership(members: Collection<AudienceMemberDoc>): ChannelProvider<AudienceChange> {
  return {
    idempotent: true,
    async send(change, _key, handOver) {
      await handOver();
      await setMembership(members, {
        audience: change.audience,
        userId: change.userId,
        member: change.action === 'add',
        ...(change.email ? { emailSha256: hashedEmail(change.email) } : {}),
        ...(change.phone ? { phoneSha256: hashedPhone(change.phone) } : {}),
      });
      return { detail: 'membership recorded; platforms are updated by the audience sync' };
    },
  };
}
