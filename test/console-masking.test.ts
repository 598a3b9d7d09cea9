/** What a viewer sees of personal data: masked where it is personal, never in times, ids or outcomes. */
import { expect, it } from 'vitest';
import { maskIdentifier, maskText, maskTraits } from '../console/masking.js';

it('masks personal traits whole, keeps emails and phones recognisable, and leaves dates and counts alone', () => {
  const traits = {
    email: 'vera@example.com',
    phone: '+14155550177',
    first_name: 'Vera',
    address: { street: '1 Main St', city: 'Springfield' },
    signed_up_at: '2026-12-02T10:00:00.000Z',
    birthday_reminder_count: 3,
    plan: 'gold',
    contact: 'vera@example.com',
  };
  expect(maskTraits(traits)).toEqual({
    email: 'v***@example.com',
    phone: '+14*******77',
    first_name: 'V***',
    address: { street: '1***', city: 'S***' },
    signed_up_at: '2026-12-02T10:00:00.000Z',
    birthday_reminder_count: 3,
    plan: 'gold',
    contact: 'v***@example.com',
  });
});

it('masks identifiers that are an email or a phone, and free text only where it holds one', () => {
  expect(maskIdentifier('vera@example.com')).toBe('v***@example.com');
  expect(maskIdentifier('+14155550177')).toBe('+14*******77');
  expect(maskIdentifier('user-123')).toBe('user-123');
  expect(maskText('550 5.1.1 <vera@example.com>: mailbox unknown, at 2026-12-02 10:00:00 +0100')).toBe(
    '550 5.1.1 <v***@example.com>: mailbox unknown, at 2026-12-02 10:00:00 +0100',
  );
  expect(maskText('21211 invalid To number +14155550177 (2026-12-02T10:00:00Z)')).toBe('21211 invalid To number +14*******77 (2026-12-02T10:00:00Z)');
});
