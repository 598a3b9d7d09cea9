/** Journey definitions: validated when loaded, versions registered once, events heard derived. */
import { describe, expect, it } from 'vitest';
import { loadTemplates } from '../activities/templates.js';
import { journeyVersion, journeyVersions, latestJourneys } from '../workflows/journeys/index.js';
import { eq } from '../workflows/sdk/conditions.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { checkSegments, checkTemplates, defineJourney, eventsHeardBy, segmentsNamed, type JourneyInputDefinition } from '../workflows/sdk/journey.js';
import { joinedSegment, leftSegment } from '../workflows/sdk/segment-events.js';
import { segmentVersions } from '../segments/definitions/index.js';
import { branch, send, setting, split, wait, waitForEvent } from '../workflows/sdk/steps.js';

const email = (id: string, template = 'welcome') => send(id, { channel: 'email', template, category: 'marketing' });
const base: JourneyInputDefinition = { id: 'example', version: 1, description: 'test', entry: { event: 'A' }, steps: [] };

describe('shipped journeys', () => {
  it('registers each version once and offers the highest to new entrants', () => {
    expect(latestJourneys().map((j) => `${j.id}@${j.version}`).sort()).toEqual([
      'birthdayGreeting@1',
      'browseAbandonment@1',
      'cartAbandonment@2',
      'cartEmailAlone@1',
      'cartSmsAlone@1',
      'postPurchaseReview@2',
      'renewalReminder@1',
      'summerSale@1',
      'vipWelcome@1',
      'welcomeSeries@2',
      'winBack@2',
    ]);
    expect(journeyVersion('welcomeSeries', 1)?.version).toBe(1);
    expect(journeyVersion('postPurchaseReview', 1)?.version).toBe(1);
  });

  it('name only templates this build has, on the right channel', async () => {
    const templates = await loadTemplates();
    for (const journey of journeyVersions) expect(() => checkTemplates(journey, templates.has)).not.toThrow();
  });

  it('hear exit, goal and awaited events', () => {
    expect(eventsHeardBy(journeyVersion('cartAbandonment', 1)!)).toEqual(['Order Completed']);
    expect(eventsHeardBy(journeyVersion('welcomeSeries', 2)!)).toEqual(['Order Completed']);
    expect(eventsHeardBy(journeyVersion('postPurchaseReview', 1)!)).toEqual(['Order Returned']);
  });

  it('address an instance by journey, user and key, with no look-up', () => {
    expect(journeyWorkflowId('cartAbandonment', 'u-1')).toBe('journey/cartAbandonment/u-1');
    expect(journeyWorkflowId('postPurchaseReview', 'u-1', 'o-9')).toBe('journey/postPurchaseReview/u-1/o-9');
  });
});

describe('validation names the journey and the step', () => {
  const fails = (input: Partial<JourneyInputDefinition>, message: RegExp) =>
    expect(() => defineJourney({ ...base, ...input })).toThrow(message);

  it('duplicate step ids, also inside branches', () => {
    fails({ steps: [email('hello'), branch('b', [{ name: 'x', when: eq('profile.a', 1), steps: [email('hello')] }])] }, /journey "example" v1: step "hello": duplicate step id/);
  });

  it('split percentages that do not add up to 100', () => {
    fails({ steps: [split('ab', [{ name: 'A', percent: 50, steps: [] }, { name: 'B', percent: 40, steps: [] }])] }, /step "ab": variant percentages add up to 90, not 100/);
  });

  it('a waitForEvent without a timeout', () => {
    fails({ steps: [waitForEvent('w', { event: 'X', timeout: '' })] }, /step "w": waitForEvent needs a timeout/);
  });

  it('a setting the journey does not define', () => {
    fails({ steps: [wait('w', setting('nope'))] }, /step "w": refers to setting "nope"/);
  });

  it('an unknown channel', () => {
    fails({ steps: [send('s', { channel: 'fax' as 'email', template: 'welcome', category: 'marketing' })] }, /step "s": unknown channel "fax"/);
  });

  it('an unknown template, when the worker checks', async () => {
    const journey = defineJourney({ ...base, steps: [email('s', 'no-such-template')] });
    const { has } = await loadTemplates();
    expect(() => checkTemplates(journey, has)).toThrow(/journey "example" v1: step "s": no email template "no-such-template"/);
  });

  it('a segment entry keyed by an event property, an event named like a segment change, a segment the build lacks', () => {
    fails({ entry: { segment: 'vip', on: 'join', key: 'order_id' } }, /a segment, date or broadcast entry has no event properties to key instances on/);
    fails({ entry: { date: 'birthday', atLocalTime: '09:00' } }, /entry.date "birthday" is not a profile field like "profile.birthday"/);
    fails({ entry: { date: 'profile.birthday', atLocalTime: '9:00' } }, /entry.atLocalTime "9:00" is not HH:MM/);
    fails({ entry: { date: 'profile.renewal_date', offset: 'a week before', atLocalTime: '10:00' } }, /entry.offset: "a week before" is not an offset/);
    fails({ fallbackTimeZone: 'Europe/Nowhere' }, /fallbackTimeZone "Europe\/Nowhere" is not an IANA time zone/);
    fails({ entry: { event: 'segment:vip:joined' } }, /"segment:vip:joined" is a segment change: enter with \{ segment, on \}/);
    fails({ entry: { event: 'broadcast:summer-sale' } }, /"broadcast:summer-sale" is a broadcast's entry: enter with \{ broadcast \}/);
    fails({ entry: { broadcast: 'summer-sale', key: 'order_id' } }, /a segment, date or broadcast entry has no event properties to key instances on/);
    fails({ entry: { segment: 'vip', on: 'join' }, exitOn: [joinedSegment('vip')] }, /the entry event cannot also be an exit event/);
    const journey = defineJourney({ ...base, entry: { segment: 'vip', on: 'join' }, exitOn: [leftSegment('newsletter'), 'Order Returned'] });
    expect(segmentsNamed(journey)).toEqual(['vip', 'newsletter']);
    expect(() => checkSegments(journey, new Set(['vip']))).toThrow(/journey "example" v1: no segment "newsletter" in the build/);
    for (const shipped of journeyVersions) expect(() => checkSegments(shipped, new Set(segmentVersions.map((s) => s.id)))).not.toThrow();
  });

  it('an entry event that is also an exit event, and a bad id', () => {
    fails({ exitOn: ['A'] }, /the entry event cannot also be an exit event/);
    fails({ id: 'cart-abandonment' }, /id must be a camelCase identifier/);
  });
});
