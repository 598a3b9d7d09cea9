/** A retargeting platform, as the audience sync sees it: batches of hashed members in, set semantics. */
export interface AudienceMember {
  userId: string;
  emailSha256?: string;
  phoneSha256?: string;
}

export interface AudienceProvider {
  /** Names what this platform was told in `audience_syncs`. */
  readonly name: string;
  /** Most members one call may carry. */
  readonly maxBatch: number;
  /** Puts `add` in and takes `remove` out of one audience; repeating a call changes nothing. Throws to be retried. */
  sync(audience: string, add: AudienceMember[], remove: AudienceMember[]): Promise<void>;
}

/**
 * A platform's answer: anything but 2xx throws, naming the status and the platform's words, and the
 * sync activity is retried; nothing is recorded as told until a call succeeds.
 */
export async function checkResponse(response: Response, what: string): Promise<void> {
  if (response.ok) return;
  throw new Error(`${what} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
}
