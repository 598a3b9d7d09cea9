import { beforeAll, describe, expect, it } from 'vitest';
import { loadTemplates, TemplateError, type TemplateRenderer } from '../activities/templates.js';

let renderer: TemplateRenderer;
beforeAll(async () => {
  renderer = await loadTemplates();
});

describe('templates', () => {
  it('renders the cart reminder with profile and event data, with a plain-text part', async () => {
    const message = await renderer.render('cart-reminder', 'email', {
      profile: { first_name: 'Ana' },
      event: { products: [{ name: 'Lamp' }, { name: 'Rug' }], value: 10, currency: 'EUR' },
      journey: { id: 'cartAbandonment', step: 'cart-reminder-email' },
    });
    expect(message).toMatchObject({ channel: 'email', subject: 'You left 2 item(s) in your cart' });
    if (message.channel !== 'email') throw new Error('expected an email');
    expect(message.text).toContain('Hi Ana,');
    expect(message.text).toContain('- Rug');
    expect(message.html).toContain('<li>Lamp</li>');
    // Compiled from MJML: a responsive table layout, the preheader hidden first in the body.
    expect(message.html).toMatch(/<body[^>]*><div style="display:none[^"]*">Your cart is saved: 10 EUR<\/div>/);
    expect(message.html).toContain('href="https://shop.example.com/cart"');
  });

  it('makes the plain-text part from the HTML when a template has none, and uses its own sender', async () => {
    const message = await renderer.render('review-request', 'email', { profile: { first_name: 'Bo' }, event: { order_id: 'o-9' }, unsubscribe_url: 'https://x.example/u?t=1' });
    expect(message).toMatchObject({ channel: 'email', subject: 'How is your order o-9?', from: 'Shop reviews <reviews@shop.example.com>' });
    if (message.channel !== 'email') throw new Error('expected an email');
    expect(message.text).toContain('Hi Bo,');
    expect(message.text).toContain('Your order o-9 arrived a few days ago.');
    expect(message.text).toContain('Unsubscribe [https://x.example/u?t=1]');
    expect(message.text).not.toContain('<p>');
  });

  it('refuses at load an MJML template that does not validate, or liquid that does not parse, naming the template', async () => {
    const subject = 'Hi';
    await expect(loadTemplates({ broken: { channel: 'email', subject, mjml: '<mjml><mj-body><mj-column><mj-text>x</mj-text></mj-column></mj-body></mjml>' } })).rejects.toThrow(/template "broken" \(mjml\): .*mj-column/);
    await expect(loadTemplates({ bad: { channel: 'email', subject, html: '{{ profile.name | no_such_filter }}' } })).rejects.toThrow(/template "bad" \(html\): .*no_such_filter/);
  });

  it('a variable the template needs and the context lacks fails, naming template, part and variable', async () => {
    await expect(renderer.render('review-request', 'email', { profile: { first_name: 'Bo' }, event: {} })).rejects.toThrow(
      /template "review-request" \(subject\): undefined variable: event.order_id/,
    );
    // Defaulted variables and conditions may be missing: the cart reminder renders from an empty event.
    const bare = await renderer.render('cart-reminder', 'email', { profile: {}, event: {}, journey: {} });
    expect(bare).toMatchObject({ subject: 'You left something item(s) in your cart' });
  });

  it('a render error names the template and part', async () => {
    const templates = await loadTemplates({ odd: { channel: 'sms', body: 'Hi {% render "no-such-partial" %}' } });
    await expect(templates.render('odd', 'sms', {})).rejects.toThrow(/template "odd" \(body\): .*no-such-partial/);
  });

  it('falls back when the profile has no name', async () => {
    const message = await renderer.render('cart-reminder-sms', 'sms', { profile: {}, event: {}, journey: {} });
    expect(message).toMatchObject({ channel: 'sms', body: expect.stringContaining('Your cart is still waiting, friend.') });
  });

  it('names the template when it is unknown or used on the wrong channel', async () => {
    await expect(renderer.render('nope', 'email', {})).rejects.toThrow(new TemplateError('unknown template "nope"'));
    await expect(renderer.render('cart-reminder', 'sms', {})).rejects.toThrow(/template "cart-reminder" is for email, not sms/);
  });
});
