/**
 * Configuration from the environment, validated once at start-up so a typo fails loudly with the
 * variable's name. Every process (worker, ingestion server, CLI) reads the same variables.
 */
import { z } from 'zod';
import type { CapRule } from './store/frequency-grants.js';
import type { HoldRule } from './store/holds.js';
import { spanMs } from './workflows/sdk/local-time.js';
import { journeyExperiments } from './workflows/journeys/experiments.js';
import { parsePayloadKeys } from './platform/payload-codec.js';

/** A positive span ('30m', '24h', '7 days'), parsed as journeys parse them; undefined if it is not one. */
function durationMs(text: string): number | undefined {
  try {
    const ms = spanMs(text);
    return ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** "3/24h": at most 3 marketing messages per user in any rolling 24 hours, across channels. */
export function parseCapRule(text: string): CapRule {
  const [limit, window] = text.split('/');
  const windowMs = durationMs(window ?? '');
  if (!limit || !/^\d+$/.test(limit.trim()) || windowMs === undefined) {
    throw new Error(`frequency cap "${text}" is not of the form N/<number><s|m|h|d>, e.g. 3/24h`);
  }
  return { name: 'marketing-all-channels', limit: Number(limit), windowMs, onCap: 'drop' };
}

const Duration = z.string().transform((text, ctx) => {
  const ms = durationMs(text);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration like 30m, 24h or 7d` });
  return ms ?? z.NEVER;
});

const CapRuleSchema = z.object({
  name: z.string().regex(/^[a-z0-9-]+$/),
  limit: z.number().int().positive(),
  window: Duration.refine((ms) => ms <= 30 * 86_400_000, 'a cap window is at most 30d'),
  channels: z.array(z.enum(['email', 'sms'])).optional(),
  categories: z.array(z.string()).optional(),
  exemptCategories: z.array(z.string()).optional(),
  journeys: z.array(z.string()).optional(),
  onCap: z.enum(['drop', 'defer']).default('drop'),
  maxDelay: Duration.optional(),
});

/** A comma-separated variable as its trimmed, non-empty items. */
const commaList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text) => text.split(',').map((item) => item.trim()).filter(Boolean));

const HoldRuleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    on: z.string().min(1),
    endOn: z.string().min(1).optional(),
    for: Duration,
    action: z.enum(['defer', 'drop']).default('defer'),
  })
  .transform(({ for: forMs, ...rule }): HoldRule => ({ ...rule, forMs }));

const QuietHoursSchema = z.object({
  start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/),
  end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/),
});

/** Parses a JSON variable with a zod schema, reporting both JSON and shape errors on the variable. */
function json<S extends z.ZodType>(schema: S, fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((text, ctx): z.output<S> => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` });
        return z.NEVER;
      }
      const parsed = schema.safeParse(value);
      if (parsed.success) return parsed.data;
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: `${issue.path.join('.')}: ${issue.message}` });
      return z.NEVER;
    });
}

const EnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('throughline'),
  MONGODB_URL: z.string().default('mongodb://127.0.0.1:27017/'),
  MONGODB_DATABASE: z.string().default('throughline'),
  SMTP_URL: z.string().default('smtp://127.0.0.1:25'),
  EMAIL_FROM: z.string().default('Throughline <journeys@throughline.local>'),
  /** How long an SMTP server may take to connect, greet or answer before the send is retried. */
  SMTP_TIMEOUT: Duration.default(30_000),
  /** Pooled SMTP connections per worker process. */
  SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(5),
  /**
   * JSON: sends per second per channel across all workers, e.g. {"sms": 1} for a US long code (toll-free
   * 3, short code 100). Enforced by Temporal on each channel's send queue.
   */
  SEND_RATE_LIMITS: json(z.partialRecord(z.enum(['email', 'sms', 'audience', 'webhook']), z.number().positive()), '{}'),
  /** Emails per second per worker process through the pool; unset: as fast as the server takes them. */
  SMTP_RATE_LIMIT: z.coerce.number().int().min(1).optional(),
  /** DKIM signing, when all three are set; the key is PEM (newlines may be written as a literal \n). */
  DKIM_DOMAIN: z.string().optional(),
  DKIM_SELECTOR: z.string().optional(),
  DKIM_PRIVATE_KEY: z.string().transform((pem) => pem.replaceAll('\\n', '\n')).optional(),
  /** Region for phone numbers written without a country code (ISO 3166 alpha-2). */
  DEFAULT_PHONE_REGION: z.string().length(2).default('US'),
  TWILIO_ACCOUNT_SID: z.string().default('AC00000000000000000000000000000000'),
  TWILIO_AUTH_TOKEN: z.string().default('unset'),
  TWILIO_FROM: z.string().default('+15005550006'),
  TWILIO_API_BASE_URL: z.url().optional(),
  /**
   * Twilio requests in flight per worker; sends beyond wait unclaimed, so a crash leaves at most this
   * many SMS with an unknown outcome.
   */
  TWILIO_MAX_CONCURRENT: z.coerce.number().int().min(1).default(10),
  TWILIO_STATUS_CALLBACK_URL: z.url().optional(),
  AUDIENCE_WEBHOOK_URL: z.url().default('http://127.0.0.1:8089/audiences'),
  /** Standard Webhooks secret ('whsec_…'); required by the worker, no default so none leaks. */
  AUDIENCE_WEBHOOK_SECRET: z.string().startsWith('whsec_').optional(),
  /** JSON: the endpoints webhook steps name, e.g. {"reviews-platform":{"url":"https://…","secret":"whsec_…"}}. */
  WEBHOOK_ENDPOINTS: json(z.record(z.string(), z.object({ url: z.url(), secret: z.string().startsWith('whsec_').optional() })), '{}'),
  /** How often audience membership changes go to the platforms (the audienceSync schedule). */
  AUDIENCE_SYNC_INTERVAL: Duration.default(60_000),
  /** Meta Custom Audiences: on when the token is set; META_AUDIENCES maps audience names to Meta audience ids. */
  META_ACCESS_TOKEN: z.string().min(1).optional(),
  META_AUDIENCES: json(z.record(z.string(), z.string().regex(/^\d+$/, 'a Meta custom audience id')), '{}'),
  META_API_BASE_URL: z.url().default('https://graph.facebook.com'),
  META_API_VERSION: z.string().regex(/^v\d+\.\d+$/).default('v21.0'),
  /**
   * How long a send from a journey below the top priority waits before taking a cap's last slot,
   * so a higher-priority journey that wants it meanwhile gets it; 0 (default): first come, first served.
   */
  CAP_PRIORITY_WINDOW: Duration.default(0),
  /** Marketing categories no cap counts, comma-separated (e.g. "alerts,back-in-stock"). */
  CAP_EXEMPT_CATEGORIES: commaList(''),
  /** Further cap rules, JSON: [{"name":"sms-daily","limit":1,"window":"24h","channels":["sms"],"onCap":"defer","maxDelay":"48h"}]. */
  FREQUENCY_CAPS: json(z.array(CapRuleSchema), '[]'),
  /** Per channel, JSON; SMS by default 21:00-08:00 in the recipient's zone. Marketing only. */
  QUIET_HOURS: json(z.object({ email: QuietHoursSchema.optional(), sms: QuietHoursSchema.optional() }), '{"sms":{"start":"21:00","end":"08:00"}}'),
  /**
   * Channels whose marketing needs a recorded opt-in, comma-separated. SMS is always among them (TCPA);
   * add email where the law asks for it (e.g. "sms,email" under GDPR). The others are opt-out.
   */
  CONSENT_OPT_IN: commaList('sms')
    .transform((channels) => [...new Set(['sms', ...channels])])
    .pipe(z.array(z.enum(['email', 'sms', 'advertising']))),
  /** The zone for recipients whose profile has none (quiet hours). */
  DEFAULT_TIME_ZONE: z.string().default('America/New_York'),
  FREQUENCY_CAP: z
    .string()
    .default('3/24h')
    .transform((text, ctx) => {
      try {
        return parseCapRule(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Comma-separated Segment write keys this server accepts; each key names its source. */
  WRITE_KEYS: commaList('dev-write-key'),
  /**
   * Sources for web pages (analytics.js, RudderStack's JavaScript SDK). Their write keys are public,
   * in the page, so each lists the origins that may send with it (`*` stands for one host label or a
   * port: `https://*.shop.example`, `http://localhost:*`); a browser key only sends events, within
   * the limits below. JSON: [{"writeKey": "wk_web_…", "origins": ["https://shop.example"]}].
   */
  BROWSER_SOURCES: json(
    z.array(z.object({ writeKey: z.string().min(8), origins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin: scheme and host, no path')).min(1) })),
    '[]',
  ),
  /** Requests a minute one browser write key may make (all its visitors together), and one client IP. */
  BROWSER_KEY_RATE_LIMIT: z.coerce.number().int().positive().default(6_000),
  BROWSER_IP_RATE_LIMIT: z.coerce.number().int().positive().default(120),
  /**
   * Proxies in front of the server whose X-Forwarded-For is believed (addresses or CIDRs, comma
   * separated); the client IP the limits count comes from them only. Unset: the connection's address.
   */
  TRUSTED_PROXIES: commaList(''),
  ADMIN_TOKEN: z.string().min(16).optional(),
  /** Return-path domain for VERP (bounces+<token>@BOUNCE_DOMAIN); unset: the From address is the return path. */
  BOUNCE_DOMAIN: z.string().min(1).optional(),
  /** Bearer secret for POST /webhooks/bounce, where your MX or mail provider posts bounce messages. */
  BOUNCE_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** Shared secret of a Segment "Webhooks (Actions)" destination (X-Signature); unset: endpoint off. */
  SEGMENT_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** Secret a RudderStack Webhook destination sends as a Bearer token header; unset: endpoint off. */
  RUDDERSTACK_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** Where recipients reach this server: unsubscribe links and webhook signatures are built on it. */
  PUBLIC_BASE_URL: z.url().default('http://127.0.0.1:8080'),
  /** Signs unsubscribe links (32+ characters); required by the worker and the server, no default. */
  UNSUBSCRIBE_SECRET: z.string().min(32).optional(),
  /** JSON: per-journey setting overrides, e.g. {"cartAbandonment":{"reminderDelay":"10s"}}. */
  JOURNEY_SETTINGS: json(z.record(z.string(), z.record(z.string(), z.union([z.string(), z.number()]))), '{}'),
  /** A prebuilt workflow bundle (see Temporal's production sample); unset: bundle at worker start. */
  WORKFLOW_BUNDLE: z.string().optional(),
  /**
   * Keys that seal every payload Temporal keeps (platform/payload-codec.ts): `name:base64key`, comma
   * separated, the sealing key first; each 32 random bytes (`openssl rand -base64 32`). Every worker,
   * server and CLI of a deployment needs the same list. Unset: payloads go to Temporal in plain text
   * (the worker and the server warn at start); `npm start` keeps one in the data folder.
   */
  PAYLOAD_KEYS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text?.trim()) return undefined;
      try {
        return parsePayloadKeys(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /**
   * With PAYLOAD_KEYS: each journey instance's payloads are sealed with its customer's own key, kept
   * in the database wrapped by the payload key, which the erase command destroys, so her data in
   * Temporal's histories and backups cannot be read again (store/customer-keys.ts). `false`: the
   * payload key seals everything (for histories recorded to replay without a database).
   */
  CUSTOMER_KEYS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * Journey instances each worker keeps in memory between their workflow tasks (Temporal's sticky
   * cache); `auto`: the SDK's default, from the heap size (about 2,300 here, 2.4 GB peak at 30,000
   * waiting journeys). An instance not cached is replayed from its history on its next task; journeys
   * wait hours between tasks, so a small cache costs little CPU and bounds memory (docs/benchmarks.md,
   * bench:memory: 900 MB peak at 30,000 with 500).
   */
  WORKFLOW_CACHE_SIZE: z.union([z.literal('auto'), z.coerce.number().int().min(0)]).default(500),
  /** How long delivery decisions stay in the ledger, and inbound messageIds stay deduplicated. */
  LEDGER_RETENTION: Duration.default(400 * 86_400_000),
  DEDUPE_RETENTION: Duration.default(30 * 86_400_000),
  /**
   * How long ingestion waits for Temporal or the database before answering 503 with Retry-After,
   * so a CDP with a short timeout hears "retry later" rather than timing out itself.
   */
  DEPENDENCY_TIMEOUT: Duration.default(1_500),
  /**
   * Calls to Temporal an ingestion server has in flight at once; more wait their turn, and
   * DEPENDENCY_TIMEOUT counts from a call's start. A burst is absorbed while Temporal answers and
   * refused with 503 at once when it falls silent (platform/call-gate.ts; docs/benchmarks.md
   * for how the default was measured).
   */
  TEMPORAL_CALLS_IN_FLIGHT: z.coerce.number().int().min(1).default(16),
  /**
   * An accepted event whose claimer has not finished it this long after it arrived was abandoned
   * (the server died, or a dependency failed half way); the recovery schedule, run this often,
   * finishes it. The lease must outlast a live claimer: ingestion gives up on a dependency in seconds.
   */
  INBOUND_RECOVERY_INTERVAL: Duration.default(30_000),
  INBOUND_CLAIM_LEASE: Duration.default(60_000),
  /** How far back the recovery schedule looks for abandoned claims. */
  INBOUND_RECOVERY_WINDOW: Duration.default(86_400_000),
  /**
   * The rollup schedule (reports/rollup.ts): how often it folds new step records and conversions into
   * what reports read, and how far behind now it stops (a write stamped a moment ago may still be
   * landing; the lag must exceed the clock difference between workers).
   */
  /**
   * Segments (segments/): how long the occurrences they count are kept (no window may be longer),
   * and how often the segment clock applies the changes time makes (a window expiring, a date
   * arriving): a change is applied at most this long after its moment.
   */
  SEGMENT_EVENT_RETENTION: Duration.default(400 * 86_400_000),
  SEGMENT_CLOCK_INTERVAL: Duration.default(5_000),
  ROLLUP_INTERVAL: Duration.default(60_000),
  ROLLUP_LAG: Duration.default(30_000),
  /**
   * The global control group: this share of customers (a stable hash of the userId) gets no marketing
   * from any journey (ledger reason held:global-control), so `report global-control` can measure what
   * all journeys together are worth. 0 to 100, in steps of 0.01.
   */
  GLOBAL_CONTROL_PERCENT: z.coerce.number().min(0).max(100).default(0),
  /**
   * JSON: holds on promotional messages from every journey, e.g. during a support ticket or after a
   * purchase: [{"name":"open-ticket","on":"Ticket Opened","endOn":"Ticket Resolved","for":"7d"},
   * {"name":"just-bought","on":"Order Completed","for":"3d","action":"drop"}]. See store/holds.ts.
   */
  HOLD_RULES: json(z.array(HoldRuleSchema), '[]'),
  /**
   * JSON: who may sign in to the console (/console on the server), as what:
   * [{"name":"ann","role":"operator","password":"scrypt$…"}] (`npm run cli -- console hash-password`).
   * A viewer sees reports and customers with emails and phones masked; an operator may also change
   * suppressions and consent. Empty: no console.
   */
  CONSOLE_USERS: json(
    z.array(z.object({ name: z.string().regex(/^[\w.@-]{1,64}$/), role: z.enum(['viewer', 'operator']), password: z.string().startsWith('scrypt$') })),
    '[]',
  ),
  /**
   * Origins of the Temporal web UI allowed to call the codec endpoint (/console/codec) from the
   * browser, comma separated; `npm start` sets its own UI's. Unset: only callers with the admin token.
   */
  TEMPORAL_UI_ORIGINS: commaList(''),
  /** Signs console session and CSRF cookies (at least 32 characters); required with CONSOLE_USERS. */
  CONSOLE_SECRET: z.string().min(32).optional(),
  /** How long a console sign-in lasts. */
  CONSOLE_SESSION_TTL: Duration.default(8 * 3_600_000),
  /** Cross-journey experiments to run (ids in workflows/journeys/experiments.ts), e.g. cart-orchestration. */
  JOURNEY_EXPERIMENTS: commaList('').refine(
    (ids) => ids.every((id) => journeyExperiments.some((e) => e.id === id)),
    `names an experiment this build does not have (it has: ${journeyExperiments.map((e) => e.id).join(', ')})`,
  ),
  /** The time-decay attribution model's half-life: a message this much older than another gets half its credit. */
  ATTRIBUTION_HALF_LIFE: Duration.default(7 * 86_400_000),
  /**
   * Count retargeting audience membership as a touch in attribution. Off by default: being on a list
   * is not an exposure (the customer may never see an ad), as Braze and Customer.io also hold.
   */
  ATTRIBUTION_COUNTS_AUDIENCES: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Each worker's /metrics, /healthz and /readyz, on HTTP_HOST; 0: any free port (logged). */
  WORKER_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /**
   * On SIGTERM or SIGINT, how long a process drains before it exits: the server finishes requests in
   * progress (new ones get 503), a worker lets sends in progress finish; Temporal retries what is cut.
   */
  SHUTDOWN_GRACE: Duration.default(10_000),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type Config = z.output<typeof EnvSchema>;

/** Every cap rule in force: the FREQUENCY_CAP shorthand first, then FREQUENCY_CAPS; CAP_EXEMPT_CATEGORIES apply to all. */
export function capRules(config: Config): CapRule[] {
  const extra = config.FREQUENCY_CAPS.map(({ window, maxDelay, ...rule }) => ({ ...rule, windowMs: window, maxDelayMs: maxDelay }));
  const exempt = (rule: CapRule): CapRule => {
    const exemptCategories = [...new Set([...config.CAP_EXEMPT_CATEGORIES, ...(rule.exemptCategories ?? [])])];
    return exemptCategories.length ? { ...rule, exemptCategories } : rule;
  };
  return [config.FREQUENCY_CAP, ...extra].map(exempt);
}

/** A setting only some processes need; they ask for it by name and fail at start without it. */
export function required<K extends keyof Config>(config: Config, name: K): NonNullable<Config[K]> {
  const value = config[name];
  if (value === undefined || value === null) throw new Error(`invalid configuration: ${String(name)} is required`);
  return value as NonNullable<Config[K]>;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}
