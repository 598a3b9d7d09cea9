/**
 * What a viewer sees of personal data: email addresses and phone numbers masked wherever they appear
 * (traits, ids, search terms), so the console can be shown to anyone on the marketing team.
 */
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
const PHONE = /\+?\d[\d\s().-]{6,}\d/g;

export function maskText(text: string): string {
  return text.replace(EMAIL, (_, first: string, domain: string) => `${first}***@${domain}`).replace(PHONE, (phone) => `${phone.slice(0, 3)}${'*'.repeat(Math.max(0, phone.length - 5))}${phone.slice(-2)}`);
}

/** Every string in a value masked, keys kept. */
export function maskValue(value: unknown): unknown {
  if (typeof value === 'string') return maskText(value);
  if (Array.isArray(value)) return value.map(maskValue);
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v)]));
  return value;
}
