/**
 * Data that crosses the boundary between ingestion, journey workflows and delivery activities.
 * Plain serialisable types only: this file is imported by workflow code and by Node code alike.
 */

/** A Segment track event as a journey sees it. */
export interface JourneyEvent {
  messageId: string;
  event: string;
  userId: string;
  timestamp: string;
  properties: Record<string, unknown>;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Durations in Temporal's notation: '90s', '1h', '24 hours', or milliseconds. */
export type Duration = string | number;

export type MessageChannel = 'email' | 'sms';

/**
 * 'transactional' bypasses marketing consent, quiet hours and caps; anything else is a marketing
 * category ('marketing', 'newsletter', 'promotions', …) that cap rules may single out.
 */
export type Category = 'transactional' | (string & {});

interface RequestBase {
  /** (workflow id, run id, step id, occurrence): the same on every retry and replay of this step. */
  idempotencyKey: string;
  journeyId: string;
  stepId: string;
  workflowId: string;
  userId: string;
  category: Category;
  /** Event properties the journey hands to templates. */
  data: Record<string, unknown>;
  /** When the step first asked to send (workflow time): how long a deferred message has waited. */
  firstAttemptAt: string;
  /** The journey's priority for a frequency cap's last slot (absent in requests from older builds: 0). */
  priority?: number;
  /** The journey version sending (absent in requests from older builds). */
  version?: number;
  /**
   * Progress records that ride with the send instead of an activity of their own: the steps before
   * it (written first), and the send's own record, whose outcome the activity fills in. Absent in
   * requests from older builds, which wrote them with recordProgress.
   */
  progress?: { before: ProgressRecord[]; own: Omit<ProgressRecord, 'outcome' | 'at'> };
  /** A broadcast's segment version: sent only if the customer is still a member when it is decided. */
  onlyIfMemberOf?: string;
}

export interface MessageRequest extends RequestBase {
  channel: MessageChannel;
  template: string;
}

export interface AudienceRequest extends RequestBase {
  channel: 'audience';
  audience: string;
  action: 'add' | 'remove';
}

export interface WebhookRequest extends RequestBase {
  channel: 'webhook';
  /** A name in WEBHOOK_ENDPOINTS. */
  endpoint: string;
  /** JSON whose strings are liquid templates. */
  body: JsonValue;
  timeoutMs: number;
}

export type DeliveryRequest = MessageRequest | AudienceRequest | WebhookRequest;

/**
 * What the delivery path decided. `reason` is the ledger's reason code: 'sent',
 * 'suppressed:<reason>', 'no-consent', 'no-address', 'capped:<rule>', 'deferred:quiet-hours until T',
 * 'deferred:cap:<rule> until T', 'dropped:cap-expired:<rule>', 'failed:<error>', 'unknown-outcome'.
 */
export interface DeliveryOutcome {
  delivered: boolean;
  reason: string;
  /** Not now: ask again at this time (quiet hours, a cap with room later). */
  deferUntil?: string;
}

export interface JourneyInput {
  journeyId: string;
  /** The version the customer entered; the instance runs it to the end. */
  version: number;
  userId: string;
  /** The correlation key (e.g. a cart id) for journeys with one instance per key. */
  key?: string;
  entryEvent: JourneyEvent;
  /** Overrides of the journey's settings (waits, windows), from configuration. */
  settings?: Record<string, Duration>;
}

export interface ProfileSnapshot {
  timezone?: string;
  traits: Record<string, unknown>;
}

export interface ConversionRecord {
  journeyId: string;
  version: number;
  workflowId: string;
  userId: string;
  goal: string;
  event: JourneyEvent;
  /** When the instance entered (its entry event's time; absent in records from older builds). */
  enteredAt?: string;
  /** Where the goal's window opens: messages since then share the credit (absent in older records). */
  windowStart?: string;
  /** Steps taken before the goal, and the sends credited with it (within the goal's window). */
  steps: StepRecord[];
  attributedTo: string[];
}

export interface StepRecord {
  stepId: string;
  at: string;
  outcome: string;
  /**
   * On an exit: the step the instance was in, which will record no outcome of its own (a wait, a
   * deferred send), so the funnel counts the instance as having reached it and left there.
   */
  inStep?: string;
}

/**
 * A step record as the journey reports it for the funnels (activities/journey-activities.ts), plus the
 * instance's entry ('entry'/'entered') and its end ('end'/'completed'). `seq` orders an instance's
 * records and keys them, so a retried write is the same write.
 */
export interface ProgressRecord extends StepRecord {
  journeyId: string;
  version: number;
  workflowId: string;
  runId: string;
  userId: string;
  seq: number;
}

export interface JourneyResult {
  /** 'completed': ran to its end; 'exited': an exit event ended it early. */
  status: 'completed' | 'exited';
  exitEvent?: string;
  steps: StepRecord[];
  /** What the customer entered on (absent in results of older builds). */
  entry?: EntryRecord;
}

/** The event an instance entered on: a segment change's messageId is the change's id. */
export interface EntryRecord {
  event: string;
  messageId: string;
  at: string;
}
