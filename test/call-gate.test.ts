/** The gate on a server's calls to Temporal (platform/call-gate.ts): a burst waits its turn; a silent dependency is refused at once. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { callGate } from '../platform/call-gate.js';

/** A dependency answering each call after `ms`, counting the calls it has in hand at once. */
function dependency(ms: number) {
  let inHand = 0;
  let most = 0;
  return {
    most: () => most,
    async call(answer = 'ok') {
      most = Math.max(most, ++inHand);
      try {
        await sleep(ms);
        return answer;
      } finally {
        inHand--;
      }
    },
  };
}

describe('callGate', () => {
  it('keeps at most inFlight calls in hand, and times each from its start, not from when it was asked for', async () => {
    const busy = dependency(50);
    const gate = callGate({ inFlight: 4, deadlineMs: 400, what: 'no answer' });
    // 80 calls of 50 ms, 4 at a time: the last waits about 950 ms, over twice the deadline, and still succeeds.
    const answers = await Promise.all(Array.from({ length: 80 }, (_, i) => gate(() => busy.call(`a${i}`))));
    expect(answers).toEqual(Array.from({ length: 80 }, (_, i) => `a${i}`));
    expect(busy.most()).toBe(4);
  });

  it('refuses every waiting call at once when a call runs out of time and none was answered, with that call\'s error; later calls are let through again', async () => {
    const silent = dependency(10_000);
    const gate = callGate({ inFlight: 2, deadlineMs: 300, what: 'Temporal gave no answer' });
    const asked = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => gate(() => silent.call())));
    const took = Date.now() - asked;
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'answered'))).toEqual(Array(20).fill('Temporal gave no answer within 300 ms'));
    // One deadline for all, not one per turn (10 turns of 300 ms).
    expect(took).toBeLessThan(1_500);
    expect(await gate(() => dependency(10).call('back'))).toBe('back');
  });

  it('fails one slow call alone while others are answered: the calls waiting carry on', async () => {
    const gate = callGate({ inFlight: 2, deadlineMs: 300, what: 'no answer' });
    const quick = dependency(20);
    const slow = gate(() => dependency(10_000).call());
    // The other slot keeps answering while the slow call runs out of time.
    const others = Array.from({ length: 30 }, (_, i) => gate(() => quick.call(`q${i}`)));
    await expect(slow).rejects.toThrow('no answer within 300 ms');
    expect(await Promise.all(others)).toEqual(Array.from({ length: 30 }, (_, i) => `q${i}`));
  });

  it('passes a dependency\'s own refusal to its caller alone, the others carry on', async () => {
    const gate = callGate({ inFlight: 1, deadlineMs: 1_000, what: 'no answer' });
    const refused = gate(() => Promise.reject(new Error('workflow not found')));
    const next = gate(() => dependency(10).call('next'));
    await expect(refused).rejects.toThrow('workflow not found');
    expect(await next).toBe('next');
  });
});
