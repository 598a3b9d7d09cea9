/**
 * A recurring broadcast's calendar, kept by Temporal: one workflow per recurring broadcast and
 * deployment, started (or woken) by setup. It waits until an hour before its next occurrence
 * begins, starts that occurrence as the CLI would (once, by its date: a second start finds it), and
 * continues as new. It plans from the build's definition (an activity), again after every wait and
 * whenever a deployment wakes it, so a changed calendar changes the occurrences not yet started and
 * a dropped recurrence ends it; an occurrence already started keeps the definition it started with.
 */
import { condition, continueAsNew, proxyActivities, setHandler } from '@temporalio/workflow';
import type { BroadcastActivities } from '../activities/broadcast-activities.js';
import { replanRecurrence, type RecurrenceInput } from '../broadcasts/sdk/run.js';

/** An occurrence is started this long before it begins: late enough to carry the latest definition. */
const START_AHEAD_MS = 3_600_000;

const { planOccurrence, startOccurrence } = proxyActivities<BroadcastActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
});

export async function broadcastRecurrence(input: RecurrenceInput): Promise<string> {
  let replan = false;
  setHandler(replanRecurrence, () => void (replan = true));
  for (;;) {
    replan = false;
    const next = await planOccurrence({ broadcast: input.broadcast, after: input.after, now: Date.now() });
    if (!next) return `broadcast "${input.broadcast}" no longer recurs in this build`;
    const wait = next.beginsAt - START_AHEAD_MS - Date.now();
    if (wait > 0) {
      await condition(() => replan, wait);
      continue;
    }
    await startOccurrence({ broadcast: input.broadcast, occurrence: next.occurrence });
    await continueAsNew<typeof broadcastRecurrence>({ broadcast: input.broadcast, after: next.occurrence });
  }
}
