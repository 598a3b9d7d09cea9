/** Phone numbers in E.164, the only form Twilio accepts reliably; parsing by libphonenumber-js. */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/** '+14155550101' for any valid spelling ('(415) 555-0101' with region US); undefined if invalid. */
export function toE164(raw: string, defaultRegion?: string): string | undefined {
  const parsed = parsePhoneNumberFromString(raw, defaultRegion as CountryCode | undefined);
  return parsed?.isValid() ? parsed.number : undefined;
}
