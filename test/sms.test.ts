import { describe, expect, it } from 'vitest';
import { toE164 } from '../activities/phone-number.js';
import { countSegments } from '../activities/sms-segments.js';

describe('phone numbers', () => {
  it('normalises any valid spelling to E.164, with a default region for national numbers', () => {
    expect(toE164('(415) 555-0102', 'US')).toBe('+14155550102');
    expect(toE164('+44 20 7946 0958')).toBe('+442079460958');
    expect(toE164('030 901820', 'DE')).toBe('+4930901820');
  });

  it('rejects numbers that cannot exist', () => {
    expect(toE164('+1 555 000 1111')).toBeUndefined(); // 555 is no area code
    expect(toE164('12345', 'US')).toBeUndefined();
    expect(toE164('not a number', 'US')).toBeUndefined();
  });
});

describe('SMS segments', () => {
  it('counts GSM-7 at 160 per message, 153 per part', () => {
    expect(countSegments('Your cart is waiting')).toEqual({ encoding: 'GSM-7', segments: 1 });
    expect(countSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1 });
    expect(countSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', segments: 2 });
    expect(countSegments('a'.repeat(307))).toEqual({ encoding: 'GSM-7', segments: 3 });
  });

  it('counts escape characters (€, [, ]) as two septets', () => {
    expect(countSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', segments: 1 });
    expect(countSegments('€'.repeat(81))).toEqual({ encoding: 'GSM-7', segments: 2 });
  });

  it('switches the whole message to UCS-2 for one character outside GSM-7', () => {
    expect(countSegments('Danke 😀')).toEqual({ encoding: 'UCS-2', segments: 1 });
    // The emoji is two UTF-16 code units: 68 + 2 = 70 fits one message, 69 + 2 = 71 needs two parts.
    expect(countSegments(`${'a'.repeat(68)}😀`)).toEqual({ encoding: 'UCS-2', segments: 1 });
    expect(countSegments(`${'a'.repeat(69)}😀`)).toEqual({ encoding: 'UCS-2', segments: 2 });
  });
});
