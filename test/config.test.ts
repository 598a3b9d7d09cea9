import { describe, expect, it } from 'vitest';
import { loadConfig, parseCapRule } from '../config.js';

describe('configuration', () => {
  it('parses a frequency cap', () => {
    expect(parseCapRule('3/24h')).toEqual({ name: 'marketing-all-channels', limit: 3, windowMs: 86_400_000 });
    expect(parseCapRule('10/30m').windowMs).toBe(1_800_000);
  });

  it('refuses a malformed cap, naming the variable', () => {
    expect(() => loadConfig({ FREQUENCY_CAP: 'three a day' })).toThrow(/FREQUENCY_CAP: frequency cap "three a day" is not of the form/);
  });

  it('refuses journey settings that are not JSON', () => {
    expect(() => loadConfig({ JOURNEY_SETTINGS: '{reminderDelay: 1h}' })).toThrow(/JOURNEY_SETTINGS: not a JSON object/);
  });

  it('reads write keys as a list', () => {
    expect(loadConfig({ WRITE_KEYS: 'web, ios ,' }).WRITE_KEYS).toEqual(['web', 'ios']);
  });
});
