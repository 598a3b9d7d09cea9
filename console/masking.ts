/**
 * What a viewer sees of personal data, so the console can be shown to anyone on the marketing team.
 * Only fields that hold personal data are masked: traits, identifiers (a user id may be an email
 * address or a phone number), search terms and free text such as a provider's error. Structured
 * values (times, step ids, outcomes, counts) are never touched: a pattern loose enough to find a
 * phone number in any string also finds one in `2026-12-02T10:00:00Z`, and a masked time is no time.
 */
import { toE164 } from '../activities/phone-number.js';

const EMAIL_IN_TEXT = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
/** In free text a phone is taken only in international form, as profiles, Twilio and its errors write it. */
const PHONE_IN_TEXT = /\+\d{8,15}\b/g;
const WHOLE_EMAIL = /^[^\s@]+@[^\s@]+\.[A-Za-z]{2,}$/;

/** Traits that are personal whatever they hold (compared without case, `_` or `-`). */
const PERSONAL_TRAITS = new Set([
  'email', 'phone', 'mobile', 'name', 'firstname', 'lastname', 'fullname', 'username',
  'address', 'street', 'city', 'postcode', 'postalcode', 'zip', 'birthday', 'dateofbirth', 'dob', 'ip',
]);

const maskEmail = (email: string) => email.replace(EMAIL_IN_TEXT, (_, first: string, domain: string) => `${first}***@${domain}`);
const maskPhone = (phone: string) => `${phone.slice(0, 3)}${'*'.repeat(Math.max(0, phone.length - 5))}${phone.slice(-2)}`;

/** Emails and international phone numbers within free text (a provider's error, a subject). */
export function maskText(text: string): string {
  return maskEmail(text).replace(PHONE_IN_TEXT, maskPhone);
}

/** A user id, identity or search term: masked whole when it is an email address or a phone number. */
export function maskIdentifier(id: string): string {
  if (WHOLE_EMAIL.test(id)) return maskEmail(id);
  if (toE164(id)) return maskPhone(id);
  return maskText(id);
}

/** A personal value whatever its form: emails and phones keep their shape, the rest only its first letter. */
function maskPersonal(value: unknown): unknown {
  if (typeof value === 'string') {
    const masked = maskIdentifier(value);
    return masked !== value ? masked : `${value.slice(0, 1)}***`;
  }
  if (Array.isArray(value)) return value.map(maskPersonal);
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPersonal(v)]));
  return value;
}

/** A profile's traits: personal ones masked whole (an address object and all), identifiers in the rest. */
export function maskTraits(traits: Record<string, unknown>): Record<string, unknown> {
  const maskOther = (value: unknown): unknown => {
    if (typeof value === 'string') return maskIdentifier(value);
    if (Array.isArray(value)) return value.map(maskOther);
    if (value && typeof value === 'object' && !(value instanceof Date)) return maskTraits(value as Record<string, unknown>);
    return value;
  };
  return Object.fromEntries(
    Object.entries(traits).map(([key, value]) => [key, PERSONAL_TRAITS.has(key.toLowerCase().replace(/[-_]/g, '')) ? maskPersonal(value) : maskOther(value)]),
  );
}
