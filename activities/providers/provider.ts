import type { SuppressionReason } from '../../store/suppressions.js';

export interface Receipt {
  providerMessageId?: string;
  /** Worth keeping on the ledger entry, e.g. an SMS's segment count and encoding. */
  detail?: string;
}

/**
 * One channel's way out. A provider throws `PermanentDeliveryError` for failures a retry cannot fix;
 * any other error is transient and the activity is retried by Temporal.
 */
export interface ChannelProvider<M> {
  /**
   * True when sending the same message twice has the effect of sending it once (set-membership
   * calls). Such a send is retried even when an earlier attempt died mid-call; a message to a person
   * is not, because it might already have arrived.
   */
  readonly idempotent: boolean;
  send(message: M, idempotencyKey: string): Promise<Receipt>;
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
