/**
 * The audience sync: what journeys changed in audience membership goes to each retargeting platform
 * in batches, and what each platform was told is recorded. Run by the `audienceSync` workflow on a
 * schedule that never overlaps itself (platform/maintenance-schedules.ts). A batch sent but not recorded (the
 * worker died in between) is sent again next time: harmless, as platforms apply sets.
 */
import { heartbeat } from '@temporalio/activity';
import type { Database } from '../store/db.js';
import { pendingChanges, recordSynced, type AudienceMemberDoc } from '../store/audiences.js';
import type { AudienceMember, AudienceProvider } from './providers/audience-provider.js';

export type AudienceSyncReport = Record<string, number>;

export interface AudienceSyncActivities {
  syncAudiences(): Promise<AudienceSyncReport>;
}

const asMember = (doc: AudienceMemberDoc): AudienceMember => ({
  userId: doc.userId,
  ...(doc.emailSha256 ? { emailSha256: doc.emailSha256 } : {}),
  ...(doc.phoneSha256 ? { phoneSha256: doc.phoneSha256 } : {}),
});

export function createAudienceSyncActivities(db: Database, providers: AudienceProvider[]): AudienceSyncActivities {
  const { audienceMembers, audienceSyncs } = db.collections;
  return {
    async syncAudiences() {
      const report: AudienceSyncReport = {};
      for (const provider of providers) {
        report[provider.name] = 0;
        for (let more = true; more; ) {
          const pending = await pendingChanges(audienceMembers, audienceSyncs, provider.name, provider.maxBatch);
          const audiences = new Set(pending.changes.map((c) => c.audience));
          for (const audience of audiences) {
            const changes = pending.changes.filter((c) => c.audience === audience);
            await provider.sync(audience, changes.filter((c) => c.member).map(asMember), changes.filter((c) => !c.member).map(asMember));
          }
          await recordSynced(audienceSyncs, provider.name, pending);
          report[provider.name] += pending.changes.length;
          more = pending.more;
          heartbeat(report);
        }
      }
      return report;
    },
  };
}
