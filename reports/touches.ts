/**
 * What a conversion's credit is shared among: exposures, the messages a customer could have seen.
 * Email and SMS sends that went out count (a broadcast's too); a webhook call counts only where its journey marks it as
 * a message (`callWebhook(..., { message: true })`, a push or in-app message sent through another
 * system); a retargeting audience's membership does not, unless ATTRIBUTION_COUNTS_AUDIENCES says
 * so, since being on a list is not seeing an ad (ad platforms report impressions apart). Every
 * attribution model credits the same touches.
 */
import { broadcastOfJourney } from '../broadcasts/sdk/run.js';
import { journeyVersion } from '../workflows/journeys/index.js';
import { allSteps } from '../workflows/sdk/steps.js';

export interface TouchRule {
  /** Retargeting audience membership counts as a touch (ATTRIBUTION_COUNTS_AUDIENCES). */
  countAudiences: boolean;
}

/** Whether a step that went out (outcome `sent`) is a touch under the rule. */
export function isTouch(step: { journeyId: string; version: number; stepId: string }, rule: TouchRule): boolean {
  if (step.stepId.startsWith('exit:leave:')) return rule.countAudiences;
  // A message broadcast's sends are emails and SMS, each occurrence a step.
  if (broadcastOfJourney(step.journeyId) !== undefined) return true;
  const definition = journeyVersion(step.journeyId, step.version);
  const found = definition ? [...allSteps(definition.steps)].find((s) => s.id === step.stepId) : undefined;
  switch (found?.kind) {
    case 'send':
      return true;
    case 'webhook':
      return found.message === true;
    case 'audience':
      return rule.countAudiences;
    default:
      return false;
  }
}

/** What the report's figures counted, in words: `audiencesCounted` of the conversions counted audiences. */
export function touchesCounted(audiencesCounted: number, conversions: number): string {
  const base = 'email and SMS sends that went out, and webhook calls marked as messages';
  if (audiencesCounted === 0) return `${base}; audience membership is not a touch`;
  const which = audiencesCounted === conversions ? 'every conversion' : `${audiencesCounted} of ${conversions} conversions`;
  return `${base}, and retargeting audience membership (ATTRIBUTION_COUNTS_AUDIENCES) for ${which}`;
}
