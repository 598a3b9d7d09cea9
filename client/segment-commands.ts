/**
 * `npm run cli -- segments [show <id>|members <id>|lock|backfill <id>]`: the build's segment
 * versions with their size and backfill, one segment's definition and joins and leaves per day, its
 * members, the lock of published versions, and a backfill started again.
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type { Database } from '../store/db.js';
import { loadConfig } from '../config.js';
import { segmentVersions } from '../segments/definitions/index.js';
import { segmentKey, type SegmentDefinition } from '../segments/sdk/segment.js';
import { findMembers } from '../store/segment-memberships.js';
import { formatSegmentOverview, segmentOverview } from '../reports/segment-report.js';
import { startSegmentBackfill } from '../platform/maintenance-schedules.js';
import { printLockResult } from './version-lock.js';
import { lockNewSegmentVersions, SEGMENT_LOCK_FILE } from './segment-lock.js';

type WithDatabase = <T>(use: (db: Database) => Promise<T>) => Promise<T>;
type WithTemporal = <T>(use: (client: Client) => Promise<T>) => Promise<T>;

function versionsOf(id: string, version?: string): SegmentDefinition[] {
  const found = segmentVersions.filter((s) => s.id === id && (version === undefined || s.version === Number(version)));
  if (!found.length) throw new Error(`no segment "${id}"${version ? ` v${version}` : ''} in this build (${[...new Set(segmentVersions.map((s) => s.id))].join(', ')})`);
  return found;
}

export function registerSegmentCommands(program: Command, withDatabase: WithDatabase, withTemporal: WithTemporal): void {
  const segments = program
    .command('segments')
    .description('segments in this build: each version, its members now and its backfill')
    .action(async () => {
      await withDatabase(async (db) => {
        for (const segment of segmentVersions) console.log(formatSegmentOverview(await segmentOverview(db, segment, 1)));
      });
    });

  segments
    .command('show <id>')
    .description("a segment's definition, its size now, and joins and leaves per day over two weeks")
    .option('--version <n>')
    .action(async (id: string, options: { version?: string }) => {
      await withDatabase(async (db) => {
        for (const segment of versionsOf(id, options.version)) console.log(formatSegmentOverview(await segmentOverview(db, segment)));
      });
    });

  segments
    .command('members <id>')
    .description('members now (the first --limit), or whether one customer is a member')
    .option('--version <n>')
    .option('--user <userId>')
    .option('--limit <n>', 'how many', '50')
    .action(async (id: string, options: { version?: string; user?: string; limit: string }) => {
      const [segment] = versionsOf(id, options.version).slice(-1);
      await withDatabase(async (db) => {
        const members = await findMembers(db.collections.segmentMembers, segmentKey(segment!), { userId: options.user, limit: Number(options.limit) });
        for (const m of members) console.log(`${m.userId}  since ${m.since.toISOString()}  because ${m.decidedBy}`);
        if (!members.length) console.log(options.user ? `${options.user} is not in ${segmentKey(segment!)}` : 'no members');
      });
    });

  segments
    .command('lock')
    .description("add this build's new segment versions to the lock of published versions; refuses if a published one changed")
    .option('--file <path>', 'the lock file', SEGMENT_LOCK_FILE)
    .action(async (options: { file: string }) => {
      printLockResult(await lockNewSegmentVersions(segmentVersions, options.file));
    });

  segments
    .command('backfill <id>')
    .description('evaluate a segment version over every existing profile (setup starts each new version once; this starts it again if it failed)')
    .option('--version <n>')
    .action(async (id: string, options: { version?: string }) => {
      const [segment] = versionsOf(id, options.version).slice(-1);
      const key = segmentKey(segment!);
      await withTemporal(async (client) => {
        const handle = await startSegmentBackfill(client, loadConfig().TEMPORAL_TASK_QUEUE, key);
        console.log(`backfill of ${key} started (${handle.workflowId}); progress: npm run cli -- segments show ${id}`);
      });
    });
}
