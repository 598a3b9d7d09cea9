/**
 * Meta Custom Audiences (Marketing API): members go in with POST and out with DELETE on
 * /<version>/<audience id>/users, as { payload: { schema, data } } with EMAIL_SHA256 and PHONE_SHA256
 * hashed after Meta's normalisation (see audience-membership.ts), at most 10,000 per call.
 */
import { checkResponse, type AudienceMember, type AudienceProvider } from './audience-provider.js';

export interface MetaAudiencesConfig {
  /** https://graph.facebook.com, or a stand-in. */
  baseUrl: string;
  apiVersion: string;
  accessToken: string;
  /** Throughline audience name -> Meta custom audience id. */
  audienceIds: Record<string, string>;
  timeoutMs?: number;
}

const SCHEMA = ['EMAIL_SHA256', 'PHONE_SHA256'] as const;

export function createMetaAudiencesProvider(config: MetaAudiencesConfig): AudienceProvider {
  async function call(method: 'POST' | 'DELETE', audienceId: string, members: AudienceMember[]) {
    const withIdentifier = members.filter((m) => m.emailSha256 || m.phoneSha256);
    if (!withIdentifier.length) return;
    const url = new URL(`/${config.apiVersion}/${audienceId}/users`, config.baseUrl);
    const body = { payload: { schema: SCHEMA, data: withIdentifier.map((m) => [m.emailSha256 ?? '', m.phoneSha256 ?? '']) }, access_token: config.accessToken };
    const response = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(config.timeoutMs ?? 30_000),
    });
    await checkResponse(response, `Meta ${method} ${url.pathname}`);
  }

  return {
    name: 'meta',
    maxBatch: 10_000,
    async sync(audience, add, remove) {
      const audienceId = config.audienceIds[audience];
      // Audiences not mapped to a Meta audience are not Meta's business: nothing is sent for them.
      if (!audienceId) return;
      await call('POST', audienceId, add);
      await call('DELETE', audienceId, remove);
    },
  };
}
