/** A broadcast occurrence's status as text: its state, counts by outcome, rate and ETA, and each group's progress. */
import type { BroadcastStatus } from '../broadcasts/sdk/run.js';

export function formatBroadcastStatus(status: BroadcastStatus): string {
  const lines = [`${status.broadcast} ${status.occurrence}: ${status.state}${status.nextAt ? ` until ${status.nextAt}` : ''}`];
  lines.push(`  recipients ${status.recipients}, pending ${status.pending}${status.perMinute !== undefined ? `, ${status.perMinute}/min` : ''}${status.eta ? `, done by about ${status.eta}` : ''}`);
  for (const [reason, n] of Object.entries(status.counts).sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(8)}  ${reason}`);
  if (status.groups.length > 1) for (const g of status.groups) lines.push(`  group ${g.name} at ${g.at}: ${g.done}/${g.recipients}`);
  return lines.join('\n');
}
