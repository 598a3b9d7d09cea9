/**
 * The operator's CLI. Reads the same environment as the worker and the server (TEMPORAL_ADDRESS,
 * MONGODB_URL, ...).
 *   npm run cli -- explain --user <userId> [--journey <id>]
 *   npm run cli -- setup
 */
import type { Connection } from '@temporalio/client';
import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openDatabase } from '../store/db.js';
import { registerSearchAttributes } from './search-attributes.js';
import { connectTemporal } from './temporal.js';
import { formatTimeline, userTimeline } from './timeline.js';

const program = new Command('throughline').description('Throughline journey orchestration');

program
  .command('explain')
  .description("a customer's timeline: journeys entered, every step, each send decision and its reason")
  .requiredOption('--user <userId>', 'the customer')
  .option('--journey <id>', 'only this journey')
  .action(async (options: { user: string; journey?: string }) => {
    const config = loadConfig();
    const [client, db] = await Promise.all([connectTemporal(config), openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE)]);
    try {
      const runs = await userTimeline(client, db, options.user);
      console.log(formatTimeline(options.user, options.journey ? runs.filter((r) => r.journey === options.journey) : runs));
    } finally {
      await Promise.all([client.connection.close(), db.close()]);
    }
  });

program
  .command('setup')
  .description('register the search attributes Throughline uses on your Temporal namespace (once)')
  .action(async () => {
    const config = loadConfig();
    const client = await connectTemporal(config);
    try {
      await registerSearchAttributes(client.connection as Connection, config.TEMPORAL_NAMESPACE);
      console.log(`search attributes registered on namespace ${config.TEMPORAL_NAMESPACE}`);
    } finally {
      await client.connection.close();
    }
  });

await program.parseAsync();
