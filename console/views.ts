/**
 * The console's pages: liquid templates in console/views, every output HTML-escaped unless marked
 * `raw`, each page inside layout.liquid. Filters for the figures: pct, points, money, duration, time.
 */
import { Liquid } from 'liquidjs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./views/', import.meta.url));

const liquid = new Liquid({ root, extname: '.liquid', outputEscape: 'escape', strictFilters: true, cache: true });
liquid.registerFilter('pct', (rate: unknown) => (typeof rate === 'number' ? `${(rate * 100).toFixed(1)}%` : '-'));
liquid.registerFilter('points', (diff: number) => `${diff >= 0 ? '+' : ''}${(diff * 100).toFixed(1)} pts`);
liquid.registerFilter('money', (n: number) => n.toFixed(2));
liquid.registerFilter('duration', (seconds: unknown) => {
  if (typeof seconds !== 'number') return '-';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return seconds < 86_400 ? `${(seconds / 3600).toFixed(1)} h` : `${(seconds / 86_400).toFixed(1)} d`;
});
liquid.registerFilter('time', (at: unknown) => (at ? new Date(at as string).toISOString().replace('T', ' ').slice(0, 19) : ''));

export async function renderPage(view: string, data: Record<string, unknown>): Promise<string> {
  const content = await liquid.renderFile(view, data);
  return liquid.renderFile('layout', { ...data, content });
}
