import { describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import { capRules, loadConfig, parseCapRule, required } from '../config.js';
import type { Database } from '../store/db.js';

describe('configuration', () => {
  it('parses a frequency cap', () => {
    expect(parseCapRule('3/24h')).toEqual({ name: 'marketing-all-channels', limit: 3, windowMs: 86_400_000, onCap: 'drop' });
    expect(parseCapRule('10/30m').windowMs).toBe(1_800_000);
  });

  it('refuses a malformed cap, naming the variable', () => {
    expect(() => loadConfig({ FREQUENCY_CAP: 'three a day' })).toThrow(/FREQUENCY_CAP: frequency cap "three a day" is not of the form/);
  });

  it('refuses journey settings that are not JSON', () => {
    expect(() => loadConfig({ JOURNEY_SETTINGS: '{reminderDelay: 1h}' })).toThrow(/JOURNEY_SETTINGS: not JSON/);
  });

  it('reads further cap rules and quiet hours, naming what is wrong', () => {
    const config = loadConfig({ FREQUENCY_CAPS: '[{"name":"sms-daily","limit":1,"window":"24h","channels":["sms"],"onCap":"defer","maxDelay":"48h"}]' });
    expect(capRules(config)).toEqual([
      { name: 'marketing-all-channels', limit: 3, windowMs: 86_400_000, onCap: 'drop' },
      { name: 'sms-daily', limit: 1, windowMs: 86_400_000, channels: ['sms'], onCap: 'defer', maxDelayMs: 172_800_000 },
    ]);
    expect(config.QUIET_HOURS).toEqual({ sms: { start: '21:00', end: '08:00' } });
    expect(() => loadConfig({ FREQUENCY_CAPS: '[{"name":"x","limit":1,"window":"a day"}]' })).toThrow(/FREQUENCY_CAPS: 0.window: "a day" is not a duration/);
    expect(() => loadConfig({ QUIET_HOURS: '{"sms":{"start":"9pm","end":"08:00"}}' })).toThrow(/QUIET_HOURS: sms.start/);
  });

  it('has no default for secrets: a process that signs fails at start, naming what is missing', async () => {
    const config = loadConfig({});
    expect(() => required(config, 'UNSUBSCRIBE_SECRET')).toThrow('invalid configuration: UNSUBSCRIBE_SECRET is required');
    await expect(createActivities(config, {} as Database)).rejects.toThrow(/AUDIENCE_WEBHOOK_SECRET is required/);
  });

  it('reads write keys as a list', () => {
    expect(loadConfig({ WRITE_KEYS: 'web, ios ,' }).WRITE_KEYS).toEqual(['web', 'ios']);
  });
});
