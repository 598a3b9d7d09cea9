/**
 * `npm run cli -- broadcasts` and `broadcast start|status|pause|resume|cancel <id> [--occurrence O]`:
 * the build's broadcasts, and one occurrence of one (by default the definition's date, or today's).
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { broadcasts } from '../broadcasts/definitions/index.js';
import { occurrenceOf, signalBroadcast, startBroadcast, statusOf, type BroadcastCommand } from '../broadcasts/control.js';
import { broadcastWorkflowId } from '../broadcasts/sdk/run.js';
import { entersJourney } from '../broadcasts/sdk/broadcast.js';
import { describeRecurrence, nextOccurrence } from '../broadcasts/sdk/recurrence.js';
import { formatBroadcastStatus } from '../reports/broadcast-status.js';

type WithTemporal = <T>(use: (client: Client) => Promise<T>) => Promise<T>;

export function registerBroadcastCommands(program: Command, withTemporal: WithTemporal): void {
  program
    .command('broadcasts')
    .description('the broadcasts in this build')
    .action(() => {
      for (const b of broadcasts) {
        const on = b.recurring ? `${describeRecurrence(b.recurring)} (next ${nextOccurrence(b.recurring, b.atLocalTime!, Date.now())})` : (b.at ?? "on the occurrence's date");
        const when = b.atLocalTime ? `${on} at ${b.atLocalTime} in each recipient's zone` : (b.at ?? 'when started');
        const pace = b.throttle ? `, at most ${b.throttle.perMinute}/min` : '';
        const what = entersJourney(b.send) ? `into journey ${b.send.journey}` : `${b.send.channel} ${b.send.template} (${b.send.category})`;
        console.log(`${b.id}  to segment ${b.segment}: ${what}, ${when}${pace}\n  ${b.description}`);
      }
    });

  const broadcast = program.command('broadcast').description('one occurrence of a broadcast: start it, follow it, pause, resume or cancel it');
  broadcast
    .command('start <id>')
    .description('start an occurrence (again: finds the one already started, and sends nobody twice)')
    .option('--occurrence <name>', "the occurrence (default: the broadcast's date, else today's, UTC)")
    .action(async (id: string, options: { occurrence?: string }) => {
      await withTemporal(async (client) => {
        const result = await startBroadcast(client, loadConfig(), id, options.occurrence);
        if (result.started) console.log(`started ${result.workflowId}; follow it: npm run cli -- broadcast status ${id} --occurrence ${occurrenceOf(id, options.occurrence)}`);
        else console.log(`already started, not started again:\n${formatBroadcastStatus(result.status)}`);
      });
    });
  broadcast
    .command('status <id>')
    .option('--occurrence <name>')
    .action(async (id: string, options: { occurrence?: string }) => {
      await withTemporal(async (client) => {
        const workflowId = broadcastWorkflowId(id, occurrenceOf(id, options.occurrence));
        const status = await statusOf(client, workflowId);
        console.log(status ? formatBroadcastStatus(status) : `${workflowId} has not been started`);
      });
    });
  for (const command of ['pause', 'resume', 'cancel'] as const satisfies BroadcastCommand[]) {
    broadcast
      .command(`${command} <id>`)
      .option('--occurrence <name>')
      .action(async (id: string, options: { occurrence?: string }) => {
        await withTemporal(async (client) => console.log(formatBroadcastStatus(await signalBroadcast(client, broadcastWorkflowId(id, occurrenceOf(id, options.occurrence)), command))));
      });
  }
}
