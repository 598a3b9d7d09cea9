/**
 * A browser source as configured (BROWSER_SOURCES): its public write key and the origins of the
 * pages that may send with it; how an origin is matched; and the lines a page pastes to send here.
 * The server's edge enforces it (server/browser-sources.ts); the console and `npm start` show it.
 */

export interface BrowserSource {
  writeKey: string;
  origins: string[];
}

/** `*` stands for one host label or a port; everything else is taken as written. */
export function originMatcher(patterns: readonly string[]): (origin: string) => boolean {
  const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
  const expressions = patterns.map((p) => new RegExp(`^${p.split('*').map(escape).join('[^.:/]+')}$`, 'i'));
  return (origin) => expressions.some((e) => e.test(origin));
}

/** The lines to paste into a page for this source, for each SDK. */
export function browserSnippets(source: BrowserSource, publicBaseUrl: string): { analyticsJs: string; rudderstack: string } {
  const base = new URL(publicBaseUrl);
  const host = base.origin + base.pathname.replace(/\/$/, '');
  return {
    analyticsJs: `AnalyticsBrowser.load({ writeKey: '${source.writeKey}', cdnURL: '${host}' })  // @segment/analytics-next`,
    rudderstack: `rudderanalytics.load('${source.writeKey}', '${host}', { configUrl: '${host}' })  // @rudderstack/analytics-js`,
  };
}
