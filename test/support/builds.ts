/** Builds as a deployment could run them: this build's journey versions with some left out. */
import { journeyVersions } from '../../workflows/journeys/index.js';
import type { JourneyDefinition } from '../../workflows/sdk/journey.js';

export function buildWithout(...left: `${string}@${number}`[]): JourneyDefinition[] {
  return journeyVersions.filter((j) => !left.includes(`${j.id}@${j.version}`));
}

/** Win-back entered by the outside `Customer Lapsed` event (v1), as before v2 entered on the lapsed segment. */
export const winBackV1Build = buildWithout('winBack@2');
