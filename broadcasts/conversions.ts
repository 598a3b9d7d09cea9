/**
 * Broadcasts' goals reached: a goal event within the goal's window of a recipient's message is the
 * broadcast's conversion, recorded as a journey's is (one document the rollup folds, reports/rollup.ts),
 * so the reports and the console credit an occurrence like any journey step, sharing the credit
 * with the other messages in the window. A message broadcast has no workflow per recipient to hear
 * the event: it is recorded on the event's own path (events/ingestion.ts), keyed by broadcast, goal
 * and event, so a copy of the event or its recovery writes nothing new.
 */
import { asOtherTouch, deliveredTouches, type LedgerTouch } from '../activities/ledger-touches.js';
import { insertNew, type ConversionDoc, type Database } from '../store/db.js';
import { spanMs } from '../workflows/sdk/local-time.js';
import type { Goal } from '../workflows/sdk/journey.js';
import type { JourneyEvent, StepRecord } from '../workflows/sdk/types.js';
import type { BroadcastDefinition } from './sdk/broadcast.js';
import { BROADCAST_JOURNEY_VERSION, broadcastJourneyId } from './sdk/run.js';

export interface BroadcastConversions {
  /** Records the conversions `event` is for the broadcasts whose goal it is; nothing for any other event. */
  record(event: JourneyEvent): Promise<void>;
}

interface GoalOf {
  journeyId: string;
  goal: Goal;
  windowMs: number;
}

const goalStep = (goal: string) => `goal:${goal}`;

export function broadcastConversions(db: Pick<Database, 'collections'>, definitions: readonly BroadcastDefinition[]): BroadcastConversions {
  const byEvent = new Map<string, GoalOf[]>();
  for (const definition of definitions) {
    for (const goal of definition.goals ?? []) {
      byEvent.set(goal.event, [...(byEvent.get(goal.event) ?? []), { journeyId: broadcastJourneyId(definition.id), goal, windowMs: spanMs(goal.within) }]);
    }
  }
  const { ledger, conversions } = db.collections;

  /** Her earlier conversions of this goal since the window opened: a repeat counts as a conversion, not a converter. */
  function earlierGoals(hers: readonly ConversionDoc[], event: JourneyEvent, journeyId: string, goal: string, since: number, ownId: string): StepRecord[] {
    return hers
      .filter((c) => c.journeyId === journeyId && c.goal === goal && c._id !== ownId && Date.parse(c.event.timestamp) >= since)
      .filter((c) => c.event.timestamp < event.timestamp || (c.event.timestamp === event.timestamp && c.event.messageId < event.messageId))
      .map((c) => ({ stepId: goalStep(goal), at: c.event.timestamp, outcome: 'reached' }));
  }

  function conversionOf(event: JourneyEvent, { journeyId, goal, windowMs }: GoalOf, touches: LedgerTouch[], earlier: StepRecord[], _id: string): ConversionDoc {
    const windowStart = Date.parse(event.timestamp) - windowMs;
    const own = touches.filter((t) => t.journeyId === journeyId);
    const sent: StepRecord[] = own.map((t) => ({ stepId: t.stepId, at: t.at, outcome: 'sent' }));
    return {
      _id,
      journeyId,
      version: BROADCAST_JOURNEY_VERSION,
      // The occurrence whose message came last before the goal.
      workflowId: own.at(-1)!.workflowId,
      userId: event.userId,
      goal: goal.id,
      event: { ...event, properties: JSON.stringify(event.properties) },
      enteredAt: own[0]!.at,
      windowStart: new Date(windowStart).toISOString(),
      steps: [...sent, ...earlier, { stepId: goalStep(goal.id), at: event.timestamp, outcome: 'reached' }],
      attributedTo: [...new Set(own.map((t) => t.stepId))],
      otherTouches: touches.filter((t) => t.journeyId !== journeyId).map(asOtherTouch),
      at: new Date(),
    };
  }

  return {
    async record(event) {
      const goals = byEvent.get(event.event);
      if (!goals) return;
      const at = Date.parse(event.timestamp);
      const longest = Math.max(...goals.map((g) => g.windowMs));
      // One read of her messages for every broadcast with this goal event.
      const touches = await deliveredTouches(ledger, event.userId, new Date(at - longest), new Date(at));
      const reached = goals
        .map((goalOf) => ({ goalOf, inWindow: touches.filter((t) => Date.parse(t.at) >= at - goalOf.windowMs) }))
        .filter(({ goalOf, inWindow }) => inWindow.some((t) => t.journeyId === goalOf.journeyId));
      if (!reached.length) return;
      // One read of her conversions, for every goal this event reached.
      const hers = await conversions.find({ userId: event.userId }).toArray();
      const made = reached.map(({ goalOf, inWindow }) => {
        const _id = `${goalOf.journeyId}/${goalOf.goal.id}/${event.messageId}`;
        return conversionOf(event, goalOf, inWindow, earlierGoals(hers, event, goalOf.journeyId, goalOf.goal.id, at - goalOf.windowMs, _id), _id);
      });
      // Written once: a copy or a recovery finds it there and leaves it, so its `at` (the rollup's order) never moves.
      await insertNew(conversions, made);
    },
  };
}
