import type { SuppressionReason } from '../../store/suppressions.js';

export interface Receipt {
  providerMessageId?: string;
  /** Worth keeping on the ledger entry, e.g. an SMS's segment count and encoding. */
  detail?: string;
}

/**
 * Called by a provider at the last moment before the message leaves (for SMTP: once a connection is
 * open and greeted), so a send counts as "at the provider" only from then on. It takes the ledger's
 * claim; when the step already has an entry it throws, and the provider must not send.
 */
export type HandOver = () => Promise<void>;

/**
 * One channel's way out. A provider call ends in one of three states:
 * - certainly not sent: it throws before calling `handOver`, or throws `NotSentError` (transient: the
 *   activity is retried) or `PermanentDeliveryError` (no retry can fix it) after;
 * - sent: it returns a receipt;
 * - outcome unknown: any other error after `handOver` (a timeout or a reset once the message may have
 *   arrived). Such a send is never repeated, unless the provider is idempotent.
 */
export interface ChannelProvider<M> {
  /**
   * True when sending the same message twice has the effect of sending it once (set-membership
   * calls, webhooks the receiver dedupes by id). An unknown outcome is then simply retried; a message
   * to a person is not, because it might already have arrived.
   */
  readonly idempotent: boolean;
  send(message: M, idempotencyKey: string, handOver: HandOver): Promise<Receipt>;
}

/** The provider refused the message before accepting any of it (an SMTP 4xx, a Twilio 429). */
export class NotSentError extends Error {
  override name = 'NotSentError';
}

export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';
  constructor(
    /** Short reason code for the ledger, e.g. 'smtp-550', 'twilio-21610'. */
    readonly code: string,
    message: string,
    /** Suppression the failure proves, e.g. a hard bounce or an SMS STOP. */
    readonly suppress?: SuppressionReason,
  ) {
    super(message);
  }
}

/** For sends outside the delivery path, with no ledger (a template's test send, a bench's bare call). */
export const unclaimed: HandOver = async () => undefined;
