/**
 * Message templates, prepared once when the worker starts: MJML compiled to HTML, every part parsed
 * as liquid. A send only renders. Variables: `profile` (the customer's traits), `event` (the
 * properties of the event that started the journey), `journey` ({ id, step }) and `unsubscribe_url`.
 * Every email has a plain-text part: the template's own, or one made from its HTML.
 *
 * Variables are strict: a template that prints a variable the context lacks fails, naming it, rather
 * than sending "Your order  arrived". A variable read through `| default:` may be missing, and an
 * `if` on a missing variable is simply false.
 */
import { convert as htmlToText } from 'html-to-text';
import { Liquid, type Template } from 'liquidjs';
import mjml2html from 'mjml';
import type { JsonValue, MessageChannel } from '../workflows/sdk/types.js';
import { TEMPLATES, type TemplateSource, type Tracking } from './template-catalog.js';

export type RenderedEmail = { channel: 'email'; subject: string; html: string; text: string; from?: string };
export type RenderedMessage = RenderedEmail | { channel: 'sms'; body: string };

/** A template that cannot be rendered: not worth a retry, the template needs fixing. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

export interface TemplateRenderer {
  has(name: string, channel: string): boolean;
  /** The template's engagement-tracking settings, as written (defaults apply at send). */
  tracking(name: string): Tracking;
  render(name: string, channel: MessageChannel, context: Record<string, unknown>): Promise<RenderedMessage>;
  /** A JSON value whose strings are liquid templates (a webhook step's body); `what` names it in errors. */
  renderJson(value: JsonValue, context: Record<string, unknown>, what: string): Promise<JsonValue>;
}

/** The variables every template sees. */
export function templateContext(input: {
  traits: Record<string, unknown>;
  event: Record<string, unknown>;
  journey: { id: string; step: string };
  unsubscribeUrl?: string;
}): Record<string, unknown> {
  return { profile: input.traits, event: input.event, journey: input.journey, unsubscribe_url: input.unsubscribeUrl };
}

type Parts = Partial<Record<'subject' | 'preheader' | 'html' | 'text' | 'body', Template[]>>;

/** Paths a template reads through `| default`, e.g. ['profile', 'first_name']. */
function defaultedPaths(source: string): string[][] {
  return [...source.matchAll(/([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\|\s*default\b/g)].map((m) => m[1]!.split('.'));
}

/**
 * The context with each defaulted path that is missing set to null at its first missing step, so
 * `default` applies instead of strict mode failing. Objects on the way are copied, never changed.
 */
function withDefaultedPaths(context: Record<string, unknown>, paths: string[][]): Record<string, unknown> {
  const root = { ...context };
  for (const path of paths) {
    let node: Record<string, unknown> = root;
    for (const key of path) {
      const value = node[key];
      if (value === undefined) {
        node[key] = null;
        break;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) break;
      node = node[key] = { ...(value as Record<string, unknown>) };
    }
  }
  return root;
}

/** Hidden text right after <body>: what inboxes show beside the subject. */
function withPreheader(html: string, preheader: string): string {
  if (!preheader) return html;
  const hidden = `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">${preheader}</div>`;
  return /<body[^>]*>/i.test(html) ? html.replace(/<body[^>]*>/i, (tag) => tag + hidden) : hidden + html;
}

async function htmlSourceOf(name: string, source: Extract<TemplateSource, { channel: 'email' }>): Promise<string> {
  if (!('mjml' in source)) return source.html;
  const { html, errors } = await mjml2html(source.mjml, { validationLevel: 'soft' });
  if (errors.length) throw new TemplateError(`template "${name}" (mjml): ${errors.map((e) => e.formattedMessage).join('; ')}`);
  return html;
}

export async function loadTemplates(sources: Record<string, TemplateSource> = TEMPLATES): Promise<TemplateRenderer> {
  const liquid = new Liquid({ strictFilters: true, strictVariables: true, lenientIf: true });
  const parse = (name: string, part: string, text: string) => {
    try {
      return liquid.parse(text);
    } catch (err) {
      throw new TemplateError(`template "${name}" (${part}): ${(err as Error).message}`);
    }
  };
  const prepared = new Map<string, Parts>();
  const defaulted = new Map<string, string[][]>();
  for (const [name, source] of Object.entries(sources)) {
    const { channel: _channel, ...texts } = source;
    defaulted.set(name, defaultedPaths(Object.values(texts).join('\n')));
    if (source.channel === 'sms') {
      prepared.set(name, { body: parse(name, 'body', source.body) });
      continue;
    }
    const parts: Parts = { subject: parse(name, 'subject', source.subject), html: parse(name, 'html', await htmlSourceOf(name, source)) };
    if (source.preheader) parts.preheader = parse(name, 'preheader', source.preheader);
    if (source.text) parts.text = parse(name, 'text', source.text);
    prepared.set(name, parts);
  }

  async function renderJson(value: JsonValue, context: Record<string, unknown>, what: string, path = '$'): Promise<JsonValue> {
    if (typeof value === 'string') {
      try {
        return await liquid.parseAndRender(value, withDefaultedPaths(context, defaultedPaths(value)));
      } catch (err) {
        throw new TemplateError(`${what} (${path}): ${(err as Error).message}`);
      }
    }
    if (Array.isArray(value)) return Promise.all(value.map((v, i) => renderJson(v, context, what, `${path}[${i}]`)));
    if (value && typeof value === 'object') {
      const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await renderJson(v, context, what, `${path}.${k}`)] as const));
      return Object.fromEntries(entries);
    }
    return value;
  }

  return {
    has: (name, channel) => sources[name]?.channel === channel,
    tracking: (name) => sources[name]?.tracking ?? {},
    renderJson: (value, context, what) => renderJson(value, context, what),
    async render(name, channel, context) {
      const source = sources[name];
      const parts = prepared.get(name);
      if (!source || !parts) throw new TemplateError(`unknown template "${name}"`);
      if (source.channel !== channel) throw new TemplateError(`template "${name}" is for ${source.channel}, not ${channel}`);
      const scope = withDefaultedPaths(context, defaulted.get(name)!);
      const render = async (part: keyof Parts) => {
        if (!parts[part]) return '';
        try {
          return String(await liquid.render(parts[part], scope));
        } catch (err) {
          throw new TemplateError(`template "${name}" (${part}): ${(err as Error).message}`);
        }
      };
      if (source.channel === 'sms') return { channel: 'sms', body: (await render('body')).trim() };
      const [subject, preheader, html, text] = await Promise.all([render('subject'), render('preheader'), render('html'), render('text')]);
      return {
        channel: 'email',
        subject: subject.trim(),
        html: withPreheader(html, preheader.trim()),
        text: parts.text ? text : htmlToText(html, { wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] }),
        ...(source.from ? { from: source.from } : {}),
      };
    },
  };
}
