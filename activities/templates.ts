/**
 * Message templates (liquid), parsed once when the worker starts. A template's variables are
 * `profile` (the customer's traits), `event` (the properties of the event that started the journey)
 * and `journey` ({ id, step }).
 */
import { Liquid, type Template } from 'liquidjs';
import type { MessageChannel } from '../workflows/sdk/types.js';
import { TEMPLATES, type TemplateSource } from './template-catalog.js';

export type RenderedMessage =
  | { channel: 'email'; subject: string; html: string; text: string }
  | { channel: 'sms'; body: string };

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export interface TemplateRenderer {
  has(name: string, channel: string): boolean;
  render(name: string, channel: MessageChannel, context: Record<string, unknown>): Promise<RenderedMessage>;
}

export function createTemplateRenderer(sources: Record<string, TemplateSource> = TEMPLATES): TemplateRenderer {
  const liquid = new Liquid();
  const parsed = new Map<string, Record<string, Template[]>>();
  for (const [name, source] of Object.entries(sources)) {
    const compiled: Record<string, Template[]> = {};
    for (const [part, text] of Object.entries(source)) if (part !== 'channel') compiled[part] = liquid.parse(text);
    parsed.set(name, compiled);
  }
  return {
    has: (name, channel) => sources[name]?.channel === channel,
    async render(name, channel, context) {
      const source = sources[name];
      const compiled = parsed.get(name);
      if (!source || !compiled) throw new TemplateError(`unknown template "${name}"`);
      if (source.channel !== channel) throw new TemplateError(`template "${name}" is for ${source.channel}, not ${channel}`);
      const renderPart = async (part: string) => {
        try {
          return String(await liquid.render(compiled[part]!, context));
        } catch (err) {
          throw new TemplateError(`template "${name}" (${part}): ${(err as Error).message}`);
        }
      };
      if (source.channel === 'email') {
        const [subject, html, text] = await Promise.all(['subject', 'html', 'text'].map(renderPart));
        return { channel: 'email', subject: subject!.trim(), html: html!, text: text! };
      }
      return { channel: 'sms', body: (await renderPart('body')).trim() };
    },
  };
}
