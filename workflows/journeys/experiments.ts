/**
 * Experiments across journeys: each entrant is assigned, by a stable hash of experiment and userId,
 * to one arm, a set of journeys for the same trigger, and enters only those. An experiment runs when
 * the deployment names it in JOURNEY_EXPERIMENTS; otherwise everyone gets its first arm, and the
 * other arms' journeys start for no one. `report journey-experiment <id>` compares the arms.
 */
import { chooseVariant } from '../sdk/split.js';

export interface JourneyExperiment {
  id: string;
  description: string;
  /** The first arm is what everyone gets while the experiment is not running. */
  arms: Array<{ name: string; percent: number; journeys: string[] }>;
}

export const journeyExperiments: readonly JourneyExperiment[] = [
  {
    id: 'cart-orchestration',
    description: 'The orchestrated cart journey (email, then SMS only if the email was not clicked) against email and SMS journeys that ignore each other',
    arms: [
      { name: 'orchestrated', percent: 50, journeys: ['cartAbandonment'] },
      { name: 'independent', percent: 50, journeys: ['cartEmailAlone', 'cartSmsAlone'] },
    ],
  },
];

export const armOf = (experiment: JourneyExperiment, userId: string) => chooseVariant(experiment.arms, `experiment:${experiment.id}:${userId}`);

/** Whether a customer may enter a journey under the running experiments: the same answer on every server. */
export function mayEnter(journeyId: string, userId: string, running: ReadonlySet<string>): boolean {
  for (const experiment of journeyExperiments) {
    const arm = experiment.arms.find((a) => a.journeys.includes(journeyId));
    if (!arm) continue;
    if (!running.has(experiment.id)) return arm === experiment.arms[0];
    if (armOf(experiment, userId) !== arm) return false;
  }
  return true;
}
