/**
 * A journey's steps drawn for people: an indented text tree or a Mermaid flowchart, each step with
 * the number of customers waiting in it right now.
 */
import { entryEvent, type JourneyDefinition } from '../workflows/sdk/journey.js';
import { describeEvent } from '../workflows/sdk/segment-events.js';
import { childrenOf, type Step } from '../workflows/sdk/steps.js';

export type StepCounts = Map<string, number>;

function describe(step: Step): string {
  switch (step.kind) {
    case 'wait':
      return `wait ${typeof step.duration === 'object' ? `setting ${step.duration.setting}` : step.duration}`;
    case 'waitUntil':
      return `wait until ${[step.date, step.offset && `+ ${step.offset}`, step.atLocalTime && `at ${step.atLocalTime} local`].filter(Boolean).join(' ')}`;
    case 'waitForEvent':
      return `wait for "${step.event}"`;
    case 'send':
      return `${step.channel} ${step.template} (${step.category})`;
    case 'audience':
      return `${step.action} ${step.action === 'add' ? 'to' : 'from'} audience ${step.audience}`;
    case 'webhook':
      return `call webhook ${step.endpoint}`;
    case 'branch':
      return 'branch';
    case 'split':
      return 'split';
    case 'updateProfile':
      return `set ${Object.keys(step.set).join(', ')}`;
    case 'exit':
      return 'exit';
  }
}

const countOf = (counts: StepCounts, id: string) => (counts.get(id) ? ` [${counts.get(id)} here]` : '');

export function journeyAsText(journey: JourneyDefinition, counts: StepCounts = new Map()): string {
  const lines = [
    `${journey.id} v${journey.version}: ${journey.description}`,
    `  enters on ${describeEvent(entryEvent(journey))}${journey.entry.key ? `, one per ${journey.entry.key}` : ''}; exits on ${journey.exitOn.map(describeEvent).join(', ') || 'nothing'}`,
  ];
  const walk = (steps: Step[], indent: string) => {
    for (const step of steps) {
      lines.push(`${indent}${step.id}: ${describe(step)}${countOf(counts, step.id)}`);
      for (const child of childrenOf(step)) {
        lines.push(`${indent}  ${child.label}:`);
        walk(child.steps, `${indent}    `);
      }
    }
  };
  walk(journey.steps, '  ');
  return lines.join('\n');
}

export function journeyAsMermaid(journey: JourneyDefinition, counts: StepCounts = new Map()): string {
  const lines = ['flowchart TD', `  entry(["${entryEvent(journey)}"])`];
  const node = (id: string) => `n_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const walk = (steps: Step[], from: string, label?: string): string => {
    let previous = from;
    let edge = label;
    for (const step of steps) {
      lines.push(`  ${node(step.id)}["${step.id}<br/>${describe(step).replaceAll('"', "'")}${countOf(counts, step.id)}"]`);
      lines.push(`  ${previous} -->${edge ? `|${edge}|` : ''} ${node(step.id)}`);
      edge = undefined;
      const children = childrenOf(step);
      if (children.length) {
        const join = `${node(step.id)}_join`;
        lines.push(`  ${join}(( ))`);
        for (const child of children) {
          // An empty branch (a holdout, an empty timeout path) is one labelled edge straight to the join.
          if (child.steps.length === 0) lines.push(`  ${node(step.id)} -->|${child.label}| ${join}`);
          else lines.push(`  ${walk(child.steps, node(step.id), child.label)} --> ${join}`);
        }
        previous = join;
      } else {
        previous = node(step.id);
      }
    }
    return previous;
  };
  lines.push(`  ${walk(journey.steps, 'entry')} --> done(["end"])`);
  return lines.join('\n');
}
