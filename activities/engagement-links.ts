/**
 * Engagement tracking in a message: links in an email's HTML become signed redirects through
 * PUBLIC_BASE_URL, an open pixel goes before </body>, and links in an SMS become short links. URLs
 * name the send by its token (a hash of its idempotency key, see verp.ts) and the link by its index:
 * nothing personal, and the original URL stays, exactly, in the tracked send's record
 * (store/engagement.ts), where the redirect finds it.
 */
import { createHmac } from 'node:crypto';
import { decodeHTMLAttribute, escapeAttribute } from 'entities';

export interface TrackingKeys {
  baseUrl: string;
  secret: string;
}

/**
 * The tracking key, derived from UNSUBSCRIBE_SECRET (which signs every other link on PUBLIC_BASE_URL)
 * so one secret covers both, while a token of one kind can never pass for the other.
 */
export const trackingSecret = (unsubscribeSecret: string) => createHmac('sha256', unsubscribeSecret).update('engagement-tracking').digest('base64url');

const sign = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('base64url').slice(0, 22);

/** The signature of a click (link index) or open (no index) URL: a redirect is only for URLs we made. */
export const linkSignature = (secret: string, token: string, link: number | 'open') => sign(secret, `${token}/${link}`);

export const clickUrl = (keys: TrackingKeys, token: string, link: number) => `${keys.baseUrl.replace(/\/$/, '')}/t/c/${token}/${link}/${linkSignature(keys.secret, token, link)}`;

export const openPixelUrl = (keys: TrackingKeys, token: string) => `${keys.baseUrl.replace(/\/$/, '')}/t/o/${token}/${linkSignature(keys.secret, token, 'open')}.gif`;

/** A short link's code: 10 characters of an HMAC of the send and link, stored by `_id` (no guessing). */
export const shortCode = (secret: string, token: string, link: number) => sign(secret, `sms:${token}/${link}`).slice(0, 10);

export const shortUrl = (keys: TrackingKeys, code: string) => `${keys.baseUrl.replace(/\/$/, '')}/s/${code}`;

/** Only web links are tracked: not mailto:, tel:, anchors, or the unsubscribe link (it is ours, and must just work). */
const trackable = (url: string, untracked: readonly string[]) => /^https?:\/\//i.test(url) && !untracked.includes(url);

const ANCHOR_HREF = /(<a\b[^>]*?\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')/gi;

/**
 * The email with its links tracked: each distinct URL gets an index (its position in `links`); the
 * same URL in the text part gets the same tracked URL. `openPixel` adds the pixel. An href is decoded
 * as an attribute value: `&note=` in a query string is text, not the legacy entity `&not`.
 */
export function trackEmail(
  email: { html: string; text: string },
  options: { keys: TrackingKeys; token: string; clicks: boolean; openPixel: boolean; untracked: readonly string[] },
): { html: string; text: string; links: string[] } {
  const links: string[] = [];
  const indexOf = (url: string) => {
    const found = links.indexOf(url);
    return found >= 0 ? found : links.push(url) - 1;
  };
  let { html, text } = email;
  if (options.clicks) {
    html = html.replace(ANCHOR_HREF, (whole, start: string, doubleQuoted?: string, singleQuoted?: string) => {
      const url = decodeHTMLAttribute(doubleQuoted ?? singleQuoted ?? '');
      if (!trackable(url, options.untracked)) return whole;
      return `${start}"${escapeAttribute(clickUrl(options.keys, options.token, indexOf(url)))}"`;
    });
    // Longest first, so a URL that begins another is not replaced inside it.
    for (const url of [...links].sort((a, b) => b.length - a.length)) text = text.split(url).join(clickUrl(options.keys, options.token, links.indexOf(url)));
  }
  if (options.openPixel) {
    const pixel = `<img src="${escapeAttribute(openPixelUrl(options.keys, options.token))}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
    html = /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${pixel}</body>`) : html + pixel;
  }
  return { html, text, links };
}

const SMS_URL = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/gi;

/** The SMS with each web link replaced by a short link; `links` by index, as for email. */
export function trackSms(body: string, options: { keys: TrackingKeys; token: string }): { body: string; links: string[]; codes: string[] } {
  const links: string[] = [];
  const codes: string[] = [];
  const tracked = body.replace(SMS_URL, (url) => {
    let index = links.indexOf(url);
    if (index < 0) {
      index = links.push(url) - 1;
      codes.push(shortCode(options.keys.secret, options.token, index));
    }
    return shortUrl(options.keys, codes[index]!);
  });
  return { body: tracked, links, codes };
}
