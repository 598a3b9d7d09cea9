/**
 * The message templates (liquid). Variables: `profile` (the customer's traits), `event` (properties of
 * the event that started the journey), `journey` ({ id, step }). An email's body is HTML or MJML
 * (compiled once at load; liquid tags go inside mj-text or mj-raw); without a `text` part, the
 * plain-text part is made from the HTML.
 */
/**
 * Engagement tracking (activities/engagement-links.ts): clicks are tracked unless `clicks` is false;
 * the open pixel is added unless `opens` is false, and never to transactional mail unless `opens` is
 * true (a receipt needs no pixel).
 */
export interface Tracking {
  clicks?: boolean;
  opens?: boolean;
}

interface EmailBase {
  channel: 'email';
  tracking?: Tracking;
  subject: string;
  /** The preview text inboxes show beside the subject. */
  preheader?: string;
  /** Sender for this template, e.g. "Reviews <reviews@shop.example>"; default EMAIL_FROM. */
  from?: string;
  text?: string;
}

export type EmailTemplate = EmailBase & ({ html: string } | { mjml: string });

export interface SmsTemplate {
  channel: 'sms';
  body: string;
  /** Short links in place of web links, unless `clicks` is false. */
  tracking?: Pick<Tracking, 'clicks'>;
}

export type TemplateSource = EmailTemplate | SmsTemplate;

const greeting = '{{ profile.first_name | default: "there" }}';

const winBackBody = [`Hi ${greeting},`, 'It has been a while. Here is 15% off to welcome you back.'];

const footer = {
  html: '{% if unsubscribe_url %}<p style="font-size:12px"><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>{% endif %}',
  text: '{% if unsubscribe_url %}\n\nUnsubscribe: {{ unsubscribe_url }}{% endif %}',
};

/** A short email whose HTML part is its text in paragraphs, with the unsubscribe footer. */
function simpleEmail(subject: string, paragraphs: string[]): EmailTemplate {
  return { ...htmlOnlyEmail(subject, paragraphs), text: paragraphs.join('\n\n') + footer.text };
}

/** The same in HTML only: the plain-text part is made from it at send. */
function htmlOnlyEmail(subject: string, paragraphs: string[]): EmailTemplate {
  return { channel: 'email', subject, html: paragraphs.map((p) => `<p>${p}</p>`).join('\n') + footer.html };
}

export const TEMPLATES: Record<string, TemplateSource> = {
  'browse-reminder': simpleEmail('Still thinking about {{ event.name | default: "it" }}?', [
    `Hi ${greeting},`,
    '{{ event.name | default: "The product you looked at" }} is still here{% if event.price %} at {{ event.price }} {{ event.currency | default: "USD" }}{% endif %}.',
    'Take another look: {{ event.url | default: "https://shop.example.com" }}',
  ]),
  welcome: simpleEmail('Welcome to the shop, {{ profile.first_name | default: "friend" }}', [
    `Hi ${greeting},`,
    'Thanks for signing up. Here is what to expect from us: new arrivals, and nothing you did not ask for.',
  ]),
  'welcome-referral': simpleEmail('Your friend was right about us', [
    `Hi ${greeting},`,
    'You joined through a friend: you both get 10% off your first order.',
  ]),
  'welcome-tips': simpleEmail('Three ways to get the most from the shop', [
    `Hi ${greeting},`,
    'Save favourites, set size alerts, and track orders from your account page.',
  ]),
  'welcome-first-order': simpleEmail('A little something for your first order', [
    `Hi ${greeting},`,
    'Your first order ships free this week.',
  ]),
  // The win-back subject test: one body, two subjects.
  'winback-a': simpleEmail('We miss you, {{ profile.first_name | default: "friend" }}', winBackBody),
  'winback-b': simpleEmail('15% off, just for you', winBackBody),
  'vip-welcome': simpleEmail('Welcome to VIP, {{ profile.first_name | default: "friend" }}', [
    `Hi ${greeting},`,
    'You are one of our best customers now: free express shipping and early access to every sale are yours.',
  ]),
  birthday: simpleEmail('Happy birthday, {{ profile.first_name | default: "friend" }}!', [
    `Hi ${greeting},`,
    'Many happy returns from all of us. Your gift: 20% off anything this week, code BIRTHDAY.',
  ]),
  'birthday-vip': simpleEmail('Happy birthday, {{ profile.first_name | default: "friend" }}: a gift for our VIPs', [
    `Hi ${greeting},`,
    'Many happy returns. As one of our VIPs, your gift is 30% off anything this week and free express shipping, code BIRTHDAYVIP.',
  ]),
  'renewal-reminder': simpleEmail('Your subscription renews on {{ profile.renewal_date }}', [
    `Hi ${greeting},`,
    'Your subscription renews in seven days, on {{ profile.renewal_date }}. Nothing to do if you want to keep it; to change or cancel, visit your account page.',
  ]),
  'weekly-newsletter': simpleEmail('This week at the shop', [
    `Hi ${greeting},`,
    'New in this week, what our customers loved, and the week ahead. See you in the shop.',
  ]),
  'sale-announcement': simpleEmail('The summer sale starts now', [
    `Hi ${greeting},`,
    'Everything in the shop is 25% off until Sunday. Your favourites are waiting.',
  ]),
  'sale-last-call': simpleEmail('Last call: the summer sale ends tomorrow', [
    `Hi ${greeting},`,
    'A day left to get 25% off anything in the shop.',
  ]),
  'review-request': {
    ...htmlOnlyEmail('How is your order {{ event.order_id }}?', [
      `Hi ${greeting},`,
      'Your order {{ event.order_id }} arrived a few days ago. Would you tell other customers what you think?',
    ]),
    from: 'Shop reviews <reviews@shop.example.com>',
    preheader: 'Two minutes, and other customers will thank you',
  },
  'cart-reminder': {
    channel: 'email',
    subject: 'You left {{ event.products.size | default: "something" }} item(s) in your cart',
    preheader: 'Your cart is saved{% if event.value %}: {{ event.value }} {{ event.currency | default: "USD" }}{% endif %}',
    mjml: `<mjml><mj-body><mj-section><mj-column>
<mj-text>Hi {{ profile.first_name | default: "there" }},</mj-text>
<mj-text>Your cart is waiting{% if event.value %} ({{ event.value }} {{ event.currency | default: "USD" }}){% endif %}.</mj-text>
<mj-text>{% if event.products %}<ul>{% for product in event.products %}<li>{{ product.name }}</li>{% endfor %}</ul>{% endif %}</mj-text>
<mj-button href="{{ event.cart_url | default: 'https://shop.example.com/cart' }}">Complete your order</mj-button>
<mj-raw>${footer.html}</mj-raw>
</mj-column></mj-section></mj-body></mjml>`,
    text: `Hi {{ profile.first_name | default: "there" }},
Your cart is waiting{% if event.value %} ({{ event.value }} {{ event.currency | default: "USD" }}){% endif %}.
{% if event.products %}{% for product in event.products %}- {{ product.name }}
{% endfor %}{% endif %}Complete your order: {{ event.cart_url | default: "https://shop.example.com/cart" }}${footer.text}`,
  },
  'cart-reminder-sms': {
    channel: 'sms',
    body: 'Your cart is still waiting, {{ profile.first_name | default: "friend" }}. Finish checkout: {{ event.cart_url | default: "https://shop.example.com/cart" }} Reply STOP to opt out.',
  },
};

