/** What a recipient's mail client does with a tracked email, for tests of opens and clicks. */

/** A person's browser, as engagement tracking tells it from scanners and privacy proxies. */
export const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

/** The open pixel's URL in an email's HTML, if it has one. */
export const pixelOf = (html: string) => /<img src="([^"]*\/t\/o\/[^"]*)"/.exec(html)?.[1];
