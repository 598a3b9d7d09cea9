import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JourneyEvent, StepRecord } from './types.js';

/** Every event for a user's running journey arrives through this one signal. */
export const eventSignal = defineSignal<[JourneyEvent]>('event');

export interface JourneyState {
  currentStep: string | undefined;
  steps: StepRecord[];
  audiences: string[];
}

export const stateQuery = defineQuery<JourneyState>('state');

/** One instance per journey and user: the id is derived, never looked up. */
export function journeyWorkflowId(journeyId: string, userId: string): string {
  return `journey/${journeyId}/${userId}`;
}
