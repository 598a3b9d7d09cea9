/**
 * Opens and clicks no person made. Apple Mail Privacy Protection fetches every image of every message
 * on delivery, through proxies whose user agent is a bare "Mozilla/5.0" from Apple's 17.0.0.0/8;
 * security gateways (Proofpoint, Mimecast, Microsoft Safe Links, Barracuda…) follow every link, often
 * with HEAD, often seconds after delivery. Such hits are recorded, flagged, and left out of engagement
 * and of what journeys hear.
 */

/** Sooner than this after the send, a click is a scanner's: no one reads and clicks that fast. */
export const SCANNER_CLICK_WINDOW_MS = 2_000;

const SCANNER_AGENTS = /proofpoint|mimecast|safelinks|barracuda|symantec|messagelabs|trendmicro|fortinet|fortiguard|sophos|zscaler|forcepoint|cisco|ironport|bitdefender|python-requests|go-http-client|curl\/|wget\/|headlesschrome|phantomjs|linkchecker|bot\b|crawler|spider/i;

const isApple = (ip: string) => /^(::ffff:)?17\./.test(ip);

export function machineOpen(request: { userAgent?: string; ip: string }): string | undefined {
  if (request.userAgent?.trim() === 'Mozilla/5.0' || isApple(request.ip)) return 'privacy-proxy';
  return undefined;
}

export function machineClick(request: { method: string; userAgent?: string; at: number; sentAt: number }): string | undefined {
  if (request.method === 'HEAD') return 'head-request';
  if (request.userAgent && SCANNER_AGENTS.test(request.userAgent)) return 'scanner-agent';
  if (request.at - request.sentAt < SCANNER_CLICK_WINDOW_MS) return 'too-soon-after-send';
  return undefined;
}
