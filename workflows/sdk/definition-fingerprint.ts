/**
 * A journey version's definition as fingerprints: one per part that decides what an instance does
 * (entry, exits, goals, each setting's default, the top-level step order, each step), and one over
 * them all. The description, the templates (which template a send uses, and its wording) and whether a
 * webhook call counts as a message in the reports are left out: they may change under customers in flight. A step's fingerprint covers its own fields and the ids of the steps nested in
 * it (branch cases, split variants, event outcomes), so an edit anywhere is named by the step it is in.
 *
 * Runs outside the workflow sandbox (the router, the CLI, tests): it uses node:crypto, which the
 * workflow bundler refuses.
 */
import { createHash } from 'node:crypto';
import type { JourneyDefinition } from './journey.js';
import { allSteps, type Step } from './steps.js';

export interface Fingerprint {
  definition: string;
  parts: Record<string, string>;
}

/** JSON with keys in a fixed order at every depth, so equal definitions print equal. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

const isStepList = (value: unknown): value is Step[] =>
  Array.isArray(value) && value.length > 0 && value.every((v) => v && typeof v === 'object' && 'kind' in v && 'id' in v);

/** A value with every list of steps inside it reduced to their ids. */
function withStepIds(value: unknown): unknown {
  if (isStepList(value)) return value.map((step) => step.id);
  if (Array.isArray(value)) return value.map(withStepIds);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withStepIds(v)]));
  return value;
}

/** A step's own fields (its template's name and its reporting aside), the steps nested in it by id. */
function ownFields(step: Step): unknown {
  const { template: _wording, message: _reporting, ...fields } = step as Step & { template?: string; message?: boolean };
  return withStepIds(fields);
}

export function fingerprint(journey: JourneyDefinition): Fingerprint {
  const parts: Record<string, string> = {
    entry: hash(canonical(journey.entry)),
    exitOn: hash(canonical(journey.exitOn)),
    goals: hash(canonical(journey.goals)),
    fallbackTimeZone: hash(canonical(journey.fallbackTimeZone)),
    priority: hash(canonical(journey.priority)),
    'order of steps': hash(canonical(journey.steps.map((s) => s.id))),
  };
  for (const [name, value] of Object.entries(journey.settings)) parts[`setting ${name}`] = hash(canonical(value));
  for (const step of allSteps(journey.steps)) parts[`step ${step.id}`] = hash(canonical(ownFields(step)));
  return { definition: hash(canonical(parts)), parts };
}

/** What differs between a recorded fingerprint and the current one, part by part: `step "x" changed`. */
export function changedParts(recorded: Fingerprint, current: Fingerprint): string[] {
  const names = [...new Set([...Object.keys(recorded.parts), ...Object.keys(current.parts)])];
  return names.flatMap((name) => {
    const [was, now] = [recorded.parts[name], current.parts[name]];
    if (was === now) return [];
    const label = name.replace(/^(step|setting) (.*)$/, '$1 "$2"');
    return [`${label} ${was === undefined ? 'added' : now === undefined ? 'removed' : 'changed'}`];
  });
}
