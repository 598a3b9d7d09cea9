/**
 * The operator's CLI. Reads the same environment as the worker and the server (TEMPORAL_ADDRESS,
 * MONGODB_URL, ...).
 *   npm run cli -- explain --user <userId> [--journey <id>]
 *   npm run cli -- journeys [show <id> [--version N] [--mermaid]]
 *   npm run cli -- journeys lock | check
 *   npm run cli -- segments [show <id> | members <id> [--user U] | lock | backfill <id>]
 *   npm run cli -- broadcasts | broadcast start|status|pause|resume|cancel <id> [--occurrence O]
 *   npm run cli -- replay [--journey <id>] [--status running] [--since <ISO>] [--query <visibility query>]
 *   npm run cli -- setup
 *   npm run cli -- events send [<json>] [--file events.jsonl] [--url U] [--write-key K]
 *   npm run cli -- events replay --file export.jsonl [--url U] [--write-key K]
 *   npm run cli -- suppressions list|add|lift --user <userId> [--channel C] [--reason R] [--expires ISO] [--evidence E]
 *   npm run cli -- templates preview <template> --user <userId> [--event <json>] [--html <file>]
 *   npm run cli -- templates test-send <template> --user <userId> --to <address or phone> [--event <json>]
 *   npm run cli -- unknown list [--user <userId>]
 *   npm run cli -- unknown resolve <key> --sent|--resend
 *   npm run cli -- report journey <id> | experiment <id> | attribution [--model M] | global-control --event E  [--from D] [--to D] [--json]
 *   echo -n 'a long password' | npm run cli -- console hash-password
 */
import type { Client, Connection } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { z } from 'zod';
import { listLedgerHours, migrateIntoPolicyRecords } from '../store/migrations.js';
import { addSuppression, liftSuppressions, suppressionHistory } from '../store/suppressions.js';
import type { Database } from '../store/db.js';
import { LiftSchema, SuppressionSchema } from '../store/suppression-schema.js';
import { describeIssues } from '../events/segment-schema.js';
import { loadConfig } from '../config.js';
import { countSegments } from '../activities/sms-segments.js';
import { loadTemplates } from '../activities/templates.js';
import { renderForCustomer as renderPreview, sendTestMessage } from '../operations/template-previews.js';
import { openDatabase } from '../store/db.js';
import { ensureSchedules } from '../platform/maintenance-schedules.js';
import { registerSearchAttributes } from '../platform/search-attributes.js';
import { connectTemporal } from '../platform/temporal.js';
import { eraseCustomer, formatErasure } from '../operations/erasure.js';
import { formatPolicyState, formatTimeline, scopeLabel, userTimeline } from '../reports/timeline.js';
import { consentHistory } from '../store/consent.js';
import { workflowsPath } from '../worker.js';
import { journeyVersion, journeyVersions, latestJourneys } from '../workflows/journeys/index.js';
import { JOURNEY_WORKFLOW_TYPE } from '../workflows/sdk/definitions.js';
import { JOURNEY, JOURNEY_VERSION, STEP } from '../workflows/sdk/search-attributes.js';
import { allSteps } from '../workflows/sdk/steps.js';
import { journeyAsMermaid, journeyAsText } from '../reports/journey-graph.js';
import { HistoryPathError, historyFiles, replayInProcesses, type WorkflowBuild } from './replay.js';
import { checkInFlight } from './journey-check.js';
import { LOCK_FILE, lockNewVersions, readLock } from './journey-lock.js';
import { printLockResult } from './version-lock.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { formatUnknowns, listUnknowns, settleUnknown } from '../operations/unknown-outcomes.js';
import { registerReportCommands } from './report-commands.js';
import { registerSegmentCommands } from './segment-commands.js';
import { registerBroadcastCommands } from './broadcast-commands.js';
import { customerSegments, formatCustomerSegments } from '../reports/segment-report.js';
import { hashPassword } from '../console/passwords.js';
import { asNewEvent, asPastEvent, readJsonl, sendEvents, type EventLine, type SendSummary } from './event-files.js';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { keptPayloadKeys } from '../stack/secrets.js';
import { dataDir } from '../stack/paths.js';

installTemporalRuntime();
// On the machine `npm start` runs on, the payload keys it keeps in its data folder (the environment's win).
const keptKeys = process.env.PAYLOAD_KEYS ? undefined : await keptPayloadKeys(dataDir);
if (keptKeys) process.env.PAYLOAD_KEYS = keptKeys;

const program = new Command('throughline').description('Throughline journey orchestration');

program
  .command('explain')
  .description("a customer's timeline: journeys entered, every step, each send decision and its reason, segment joins and leaves")
  .requiredOption('--user <userId>', 'the customer')
  .option('--journey <id>', 'only this journey')
  .action(async (options: { user: string; journey?: string }) => {
    const config = loadConfig();
    // The database first: a journey's payloads open with its customer's key, kept there.
    const db = await openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE);
    const client = await connectTemporal(config, db);
    try {
      const runs = await userTimeline(client, db, options.user);
      console.log(formatTimeline(options.user, options.journey ? runs.filter((r) => r.journey === options.journey) : runs));
      console.log(formatCustomerSegments(await customerSegments(db, options.user)));
      await printPolicyState(db, options.user);
    } finally {
      await Promise.all([client.connection.close(), db.close()]);
    }
  });

program
  .command('setup')
  .description('register the search attributes and the cleanup and audience-sync schedules on your Temporal namespace, and move data of earlier versions (once per upgrade; workers do the latter at start too)')
  .action(async () => {
    const config = loadConfig();
    const client = await connectTemporal(config);
    try {
      await registerSearchAttributes(client.connection as Connection, config.TEMPORAL_NAMESPACE);
      await ensureSchedules(client, config);
      console.log(`search attributes registered and schedules in place on namespace ${config.TEMPORAL_NAMESPACE}`);
    } finally {
      await client.connection.close();
    }
    const moved = await withDatabase(migrateIntoPolicyRecords);
    for (const [from, count] of Object.entries(moved)) console.log(`moved ${count} documents from ${from} into policy_records`);
    const listed = await withDatabase(listLedgerHours);
    if (listed) console.log(`gave ${listed} ledger entries their hour, for the console's message search`);
  });

const journeysCommand = program
  .command('journeys')
  .description('journeys in this build, their versions, and customers in flight per version')
  .action(async () => {
    await withTemporal(async (client) => {
      for (const journey of latestJourneys()) {
        const versions = journeyVersions.filter((j) => j.id === journey.id);
        const inFlight = await Promise.all(versions.map(async (v) => `v${v.version}: ${await countRunning(client, journey.id, v.version)} in flight`));
        console.log(`${journey.id.padEnd(20)} latest v${journey.version}  ${inFlight.join(', ')}  ${journey.description}`);
      }
    });
  });

journeysCommand
  .command('show <journeyId>')
  .description("one journey's steps as a graph, with how many customers wait at each step now")
  .option('--version <n>', 'a version other than the latest', Number)
  .option('--mermaid', 'print a Mermaid flowchart instead of text')
  .action(async (journeyId: string, options: { version?: number; mermaid?: boolean }) => {
    const journey = options.version
      ? journeyVersion(journeyId, options.version)
      : latestJourneys().find((j) => j.id === journeyId);
    if (!journey) throw new Error(`no journey "${journeyId}"${options.version ? ` v${options.version}` : ''} in this build`);
    await withTemporal(async (client) => {
      const counts = new Map<string, number>();
      for (const step of allSteps(journey.steps)) counts.set(step.id, await countRunning(client, journey.id, journey.version, step.id));
      console.log(options.mermaid ? journeyAsMermaid(journey, counts) : journeyAsText(journey, counts));
    });
  });

journeysCommand
  .command('lock')
  .description('add this build\'s new journey versions to the lock of published versions; refuses if a published one changed')
  .option('--file <path>', 'the lock file', LOCK_FILE)
  .action(async (options: { file: string }) => {
    printLockResult(await lockNewVersions(journeyVersions, options.file));
  });

journeysCommand
  .command('check')
  .description('before a deploy: list instances in flight whose version this build defines differently (or not at all); exits 1 if any')
  .option('--file <path>', 'the lock file', LOCK_FILE)
  .action(async (options: { file: string }) => {
    const lock = await readLock(options.file);
    await withTemporal(async (client) => {
      const { checked, drifted } = await checkInFlight(client, journeyVersions, lock, loadConfig().TEMPORAL_TASK_QUEUE);
      for (const d of drifted) console.log(`DIFFERS ${d.workflowId} (${d.journeyId} v${d.version}): ${d.reason}`);
      console.log(`${checked} instances in flight checked: ${checked - drifted.length} run the definition they started with, ${drifted.length} would not`);
      if (drifted.length) process.exitCode = 1;
    });
  });

function positiveInteger(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number, 1 or more');
  return n;
}

program
  .command('replay')
  .description('replay histories of journey instances against this build; exits 1 on any nondeterminism')
  .option('--journey <id>', 'only this journey')
  .option('--status <status>', 'running, completed, failed, terminated…')
  .option('--since <iso>', 'instances started at or after this time')
  .option('--until <iso>', 'instances started before this time')
  .option('--query <query>', 'a raw visibility query, instead of the options above')
  .option('--files <path>', 'replay a history JSON file, or every one under a folder, instead of a server')
  .addOption(new Option('--processes <n>', 'replay processes, a core each').argParser(positiveInteger).default(os.availableParallelism(), 'the cores'))
  .action(async (options: { journey?: string; status?: string; since?: string; until?: string; query?: string; files?: string; processes: number }) => {
    const build = await workflowBuild();
    const started = Date.now();
    let replayed = 0;
    const failed: string[] = [];
    let erased = 0;
    const report = async (histories: Parameters<typeof replayInProcesses>[1]) => {
      for await (const outcome of replayInProcesses(build, histories, options.processes)) {
        replayed++;
        if (outcome.error) failed.push(outcome.workflowId);
        if (outcome.erased) erased++;
        console.log(outcome.error ? `FAIL ${outcome.workflowId}: ${outcome.error}` : outcome.erased ? `gone ${outcome.workflowId}: its customer was erased` : `ok   ${outcome.workflowId}`);
      }
    };
    if (options.files) {
      const histories = await historyFiles(options.files).catch((err: Error) => {
        if (err instanceof HistoryPathError) program.error(`replay: ${err.message}`);
        throw err;
      });
      await report(histories);
    } else await withTemporal((client) => report(client.workflow.list({ query: options.query ?? visibilityQuery(options) }).intoHistories()));
    const seconds = (Date.now() - started) / 1000;
    // A short run's rate says nothing: under a second, only the count and the time.
    const rate = seconds >= 1 ? `, ${(replayed / seconds).toFixed(0)}/s` : '';
    console.log(`replayed ${replayed} histories in ${seconds.toFixed(1)} s${rate}: ${replayed - failed.length - erased} ok, ${failed.length} nondeterministic${erased ? `, ${erased} of erased customers (unreadable)` : ''}`);
    if (failed.length) process.exitCode = 1;
  });

const eventsCommand = program.command('events').description('send Segment-spec events to the ingestion API');

/** Where events go: --url, else this deployment's own server; the write key: --write-key, else the first configured. */
function eventTarget(options: { url?: string; writeKey?: string }) {
  const config = loadConfig();
  return { url: options.url ?? `http://${config.HTTP_HOST}:${config.HTTP_PORT}`, writeKey: options.writeKey ?? config.WRITE_KEYS[0]! };
}

function printSummary(summary: SendSummary): void {
  for (const { line, problems } of summary.rejected) {
    console.log(`line ${line}: rejected: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
  console.log(`${summary.accepted} accepted, ${summary.duplicate} duplicate, ${summary.rejected.length} rejected`);
  if (summary.rejected.length) process.exitCode = 1;
}

eventsCommand
  .command('send [json]')
  .description('send one event (JSON argument) or every line of a JSONL file, as new events happening now')
  .option('--file <path>', 'a JSONL file, one Segment-spec event per line (each with its type)')
  .option('--url <url>', 'the ingestion server')
  .option('--write-key <key>', 'the source write key')
  .action(async (json: string | undefined, options: { file?: string; url?: string; writeKey?: string }) => {
    if (!json === !options.file) throw new Error('give either one event as JSON or --file');
    const { url, writeKey } = eventTarget(options);
    const lines = options.file ? readJsonl(options.file) : [{ line: 1, event: JSON.parse(json!) as Record<string, unknown> }];
    printSummary(await sendEvents(url, writeKey, mapLines(lines, asNewEvent)));
  });

eventsCommand
  .command('replay')
  .description('re-ingest past events (e.g. a Segment export) with their own times; replaying a file twice has one effect')
  .requiredOption('--file <path>', 'a JSONL file of Segment-spec events')
  .option('--url <url>', 'the ingestion server')
  .option('--write-key <key>', 'the source write key the events were first sent with (dedupe is per source)')
  .action(async (options: { file: string; url?: string; writeKey?: string }) => {
    const { url, writeKey } = eventTarget(options);
    printSummary(await sendEvents(url, writeKey, mapLines(readJsonl(options.file), asPastEvent)));
  });

async function* mapLines(lines: AsyncIterable<EventLine> | Iterable<EventLine>, prepare: (e: Record<string, unknown>) => Record<string, unknown>) {
  for await (const { line, event } of lines) yield { line, event: prepare(event) };
}

const unknownCommand = program.command('unknown').description('sends whose outcome is unknown (the provider may have had them): the operator settles each');

unknownCommand
  .command('list')
  .option('--user <userId>', "only this customer's")
  .action(async (options: { user?: string }) => {
    console.log(formatUnknowns(await withDatabase((db) => listUnknowns(db, options.user))));
  });

unknownCommand
  .command('resolve <key>')
  .description('--sent: it arrived (say how you know in your records); --resend: send it again through the policy')
  .addOption(new Option('--sent', 'record it as sent').conflicts('resend'))
  .addOption(new Option('--resend', 'send it again (policy, provider, ledger), once'))
  .action(async (key: string, options: { sent?: boolean; resend?: boolean }) => {
    if (!options.sent === !options.resend) throw new Error('give --sent or --resend');
    const config = loadConfig();
    const temporal = await connectTemporal(config);
    try {
      const said = await withDatabase((db) => settleUnknown({ db, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE }, key, options.sent ? 'sent' : 'resend', operator()));
      console.log(said);
    } finally {
      await temporal.connection.close();
    }
  });

program
  .command('erase')
  .description("erase a customer: her journeys end, her data key is destroyed (her payloads in Temporal's histories become unreadable), her profile, identities, facts, memberships, consent and engagement are deleted; an erasure suppression stays")
  .requiredOption('--user <userId>', 'the customer')
  .option('--yes', 'do it (it cannot be undone)')
  .action(async (options: { user: string; yes?: boolean }) => {
    if (!options.yes) throw new Error('erasure cannot be undone: add --yes');
    const config = loadConfig();
    const report = await withDatabase(async (db) => {
      const temporal = await connectTemporal(config, db);
      try {
        return await eraseCustomer({ db, temporal }, options.user, operator());
      } finally {
        await temporal.connection.close();
      }
    });
    console.log(formatErasure(report));
  });

const suppressionsCommand = program.command('suppressions').description("a customer's suppressions: list, add, lift (recorded, never deleted)");

/** A customer's suppressions and consent history, as `explain` ends with them. */
async function printPolicyState(db: Database, userId: string): Promise<void> {
  const [suppressions, consent] = await Promise.all([
    suppressionHistory(db.collections.suppressions, userId),
    consentHistory(db.collections.consentEvents, userId),
  ]);
  console.log(formatPolicyState(suppressions, consent));
}

/** Who did it, for the record: the operator's login on this machine. */
const operator = () => `cli:${os.userInfo().username}`;

async function withDatabase<T>(use: (db: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase(config.MONGODB_URL, config.MONGODB_DATABASE);
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

/** Validates CLI input with the admin API's own schemas, so both edges accept the same. */
function validated<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new Error(describeIssues(result.error).map((p) => `--${p.field}: ${p.message}`).join('; '));
  return result.data;
}

suppressionsCommand
  .command('list')
  .requiredOption('--user <userId>')
  .action(async (options: { user: string }) => {
    await withDatabase((db) => printPolicyState(db, options.user));
  });

suppressionsCommand
  .command('add')
  .requiredOption('--user <userId>')
  .requiredOption('--channel <channel>', '*, email, sms, audience or webhook')
  .option('--category <category>', 'only marketing messages of this category (default: every category)')
  .requiredOption('--reason <reason>', 'unsubscribe, hard-bounce, complaint, sms-stop, manual or erasure')
  .option('--expires <iso>', 'when it ends by itself (default: permanent)')
  .option('--evidence <text>', 'what proves it: a ticket, a message')
  .action(async (options: { user: string; channel: string; category?: string; reason: string; expires?: string; evidence?: string }) => {
    const entry = validated(SuppressionSchema, { userId: options.user, channel: options.channel, category: options.category, reason: options.reason, expiresAt: options.expires, evidence: options.evidence });
    await withDatabase((db) => addSuppression(db.collections.suppressions, { ...entry, source: operator() }));
    console.log(`suppressed ${entry.userId} on ${scopeLabel(entry.channel, entry.category)} (${entry.reason})${entry.expiresAt ? ` until ${entry.expiresAt.toISOString()}` : ''}`);
  });

suppressionsCommand
  .command('lift')
  .requiredOption('--user <userId>')
  .requiredOption('--channel <channel>')
  .option('--category <category>', 'lift the suppression of this category (default: the channel-wide one)')
  .requiredOption('--reason <reason...>', 'the reasons to lift')
  .action(async (options: { user: string; channel: string; category?: string; reason: string[] }) => {
    const filter = validated(LiftSchema, { userId: options.user, channel: options.channel, category: options.category, reasons: options.reason });
    const lifted = await withDatabase((db) => liftSuppressions(db.collections.suppressions, filter, operator()));
    console.log(`lifted ${lifted} suppression(s) of ${filter.userId} on ${filter.channel}`);
  });

const templatesCommand = program.command('templates').description('message templates, rendered for a real customer');

interface TemplateOptions {
  user: string;
  event?: string;
}

/** Renders a template with a customer's stored profile, as their send would (unsubscribe link included). */
async function renderForCustomer(template: string, options: TemplateOptions) {
  const config = loadConfig();
  const event = options.event ? (JSON.parse(options.event) as Record<string, unknown>) : {};
  const preview = await withDatabase(async (db) => renderPreview({ config, db, templates: await loadTemplates() }, template, options.user, event));
  if (!preview.profileFound) console.error(`note: no profile for "${options.user}"; rendering with empty traits`);
  return { config, preview };
}

templatesCommand
  .command('preview <template>')
  .description("render a template with a customer's profile and print it")
  .requiredOption('--user <userId>', 'whose profile fills the template')
  .option('--event <json>', 'event properties, as the journey would pass them')
  .option('--html <file>', 'also write the HTML part to this file')
  .action(async (template: string, options: TemplateOptions & { html?: string }) => {
    const { rendered } = (await renderForCustomer(template, options)).preview;
    if (rendered.channel === 'sms') {
      const { segments, encoding } = countSegments(rendered.body);
      console.log(`SMS (${segments} segment(s), ${encoding}):\n${rendered.body}`);
      return;
    }
    console.log(`From: ${rendered.from ?? '(EMAIL_FROM)'}\nSubject: ${rendered.subject}\n\n${rendered.text}`);
    if (options.html) {
      await writeFile(options.html, rendered.html);
      console.log(`\nHTML part written to ${options.html}`);
    }
  });

templatesCommand
  .command('test-send <template>')
  .description("send a template rendered for a customer to a test address or phone: no policy, no ledger, subject marked [test]")
  .requiredOption('--user <userId>', 'whose profile fills the template')
  .requiredOption('--to <recipient>', 'the test inbox or phone number (never the customer)')
  .option('--event <json>', 'event properties, as the journey would pass them')
  .action(async (template: string, options: TemplateOptions & { to: string }) => {
    const { config, preview } = await renderForCustomer(template, options);
    const sent = await sendTestMessage(config, preview, options.to, `test-send/${template}/${options.user}/${Date.now()}`);
    console.log(`sent to ${sent.to}: ${sent.providerMessageId}`);
  });

/** The build to replay against: WORKFLOW_BUNDLE, or this checkout's journeys bundled now. */
async function workflowBuild(): Promise<WorkflowBuild> {
  if (process.env.WORKFLOW_BUNDLE) return { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE } };
  const started = Date.now();
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  console.log(`bundled the journeys in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { workflowBundle: bundle };
}

/** Visibility query for journey instances from the CLI's filter options. */
function visibilityQuery(options: { journey?: string; status?: string; since?: string; until?: string }): string {
  const status = options.status && options.status[0]!.toUpperCase() + options.status.slice(1).toLowerCase();
  return [
    `WorkflowType = '${JOURNEY_WORKFLOW_TYPE}'`,
    options.journey && `${JOURNEY.name} = '${options.journey}'`,
    status && `ExecutionStatus = '${status}'`,
    options.since && `StartTime >= '${new Date(options.since).toISOString()}'`,
    options.until && `StartTime < '${new Date(options.until).toISOString()}'`,
  ]
    .filter(Boolean)
    .join(' AND ');
}

async function countRunning(client: Client, journeyId: string, version: number, stepId?: string): Promise<number> {
  const query = [
    `${JOURNEY.name} = '${journeyId}'`,
    `${JOURNEY_VERSION.name} = ${version}`,
    `ExecutionStatus = 'Running'`,
    stepId && `${STEP.name} = '${stepId}'`,
  ]
    .filter(Boolean)
    .join(' AND ');
  return (await client.workflow.count(query)).count;
}

async function withTemporal<T>(use: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectTemporal(loadConfig());
  try {
    return await use(client);
  } finally {
    await client.connection.close();
  }
}

registerReportCommands(program, withDatabase);
registerSegmentCommands(program, withDatabase, withTemporal);
registerBroadcastCommands(program, withTemporal);

program
  .command('console')
  .description('the web console (/console on the server)')
  .command('hash-password')
  .description('reads a password on stdin and prints its hash for CONSOLE_USERS')
  .action(async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (password.length < 12) throw new Error('use a password of at least 12 characters');
    console.log(await hashPassword(password));
  });

await program.parseAsync();
