/**
 * The deploy check for instances in flight: every running journey instance recorded the fingerprint
 * of the definition it started with (search attribute ThroughlineDefinition); the build about to be
 * deployed must run that same definition for it. Lists each instance whose version differs in the
 * build, or is missing from it. Instances started before fingerprints were recorded are taken to run
 * their version as the lock holds it.
 */
import type { Client } from '@temporalio/client';
import { changedParts, fingerprint, type Fingerprint } from '../workflows/sdk/definition-fingerprint.js';
import type { JourneyDefinition } from '../workflows/sdk/journey.js';
import { DEFINITION, JOURNEY, JOURNEY_VERSION } from '../workflows/sdk/search-attributes.js';
import { lockedFingerprint, type JourneyLock } from './journey-lock.js';

export interface DriftedInstance {
  workflowId: string;
  journeyId: string;
  version: number;
  reason: string;
}

export interface CheckReport {
  checked: number;
  drifted: DriftedInstance[];
}

/** The versions to look at: those in the build and those the lock says were ever published. */
function versionsOf(journeys: readonly JourneyDefinition[], lock: JourneyLock): Array<{ journeyId: string; version: number }> {
  const keys = new Set([
    ...journeys.map((j) => `${j.id}:${j.version}`),
    ...Object.entries(lock).flatMap(([id, versions]) => Object.keys(versions).map((v) => `${id}:${v}`)),
  ]);
  return [...keys].map((key) => {
    const [journeyId, version] = key.split(':');
    return { journeyId: journeyId!, version: Number(version) };
  });
}

function whyDifferent(started: Fingerprint | string | undefined, current: Fingerprint): string | undefined {
  if (started === undefined) return undefined;
  if (typeof started === 'string') return started === current.definition ? undefined : `started with definition ${started}, the build has ${current.definition}`;
  return started.definition === current.definition ? undefined : changedParts(started, current).join(', ');
}

/** Instances on `taskQueue`: the deployment's own (another deployment on the same Temporal has its own queue). */
export async function checkInFlight(client: Client, journeys: readonly JourneyDefinition[], lock: JourneyLock, taskQueue: string): Promise<CheckReport> {
  const report: CheckReport = { checked: 0, drifted: [] };
  for (const { journeyId, version } of versionsOf(journeys, lock)) {
    const built = journeys.find((j) => j.id === journeyId && j.version === version);
    const current = built && fingerprint(built);
    const locked = lockedFingerprint(lock, journeyId, version);
    const query = `ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}' AND ${JOURNEY.name} = '${journeyId}' AND ${JOURNEY_VERSION.name} = ${version}`;
    for await (const instance of client.workflow.list({ query })) {
      report.checked++;
      const recorded = instance.typedSearchAttributes.get(DEFINITION);
      // The lock's parts name what changed when the instance started with the locked definition.
      const started = recorded === undefined || recorded === locked?.definition ? locked : recorded;
      const reason = current ? whyDifferent(started, current) : 'this version is not in the build';
      if (reason) report.drifted.push({ workflowId: instance.workflowId, journeyId, version, reason });
    }
  }
  return report;
}
