import { describe, expect, it } from 'vitest';
import { createTemplateRenderer, TemplateError } from '../activities/templates.js';

const renderer = createTemplateRenderer();

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
