import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resp, type RespValue } from '../kv/resp.js';
import { ProposalTracker } from './proposals.js';

describe('ProposalTracker', () => {
  let t: ProposalTracker;
  let answers: Map<number, RespValue[]>;
  const track = (index: number, term = 2): void =>
    t.track(index, term, (r) => answers.set(index, [...(answers.get(index) ?? []), r]));
  const code = (index: number): string | undefined => {
    const a = answers.get(index);
    expect(a?.length ?? 0).toBeLessThanOrEqual(1);
    const v = a?.[0];
    if (v === undefined) return undefined;
    return v.type === 'error' ? v.value.split(' ')[0] : 'reply';
  };

  beforeEach(() => {
    vi.useFakeTimers();
    t = new ProposalTracker({ deadlineMs: 1000 });
    answers = new Map();
  });
  afterEach(() => vi.useRealTimers());

  it('answers with the reply of the entry it proposed, once', () => {
    track(5);
    t.applied(4, 2, resp.simple('other'));
    expect(code(5)).toBeUndefined();
    t.applied(5, 2, resp.integer(1));
    t.applied(5, 2, resp.integer(1));
    expect(answers.get(5)).toEqual([resp.integer(1)]);
    expect(t.size).toBe(0);
  });

  it('answers -TIMEOUT when the index holds another term, a no-op, or a snapshot passed it', () => {
    track(5);
    track(6);
    track(7);
    t.applied(5, 3, resp.simple('OK'));
    t.applied(6, 2, null);
    t.snapshotInstalled(7);
    expect([code(5), code(6), code(7)]).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
    expect(t.counters.overwritten).toBe(3);
  });

  it('answers -TIMEOUT when leadership is lost, the deadline passes, or the node stops', () => {
    track(1);
    t.leadershipLost();
    track(2);
    vi.advanceTimersByTime(999);
    expect(code(2)).toBeUndefined();
    vi.advanceTimersByTime(1);
    track(3);
    t.close();
    expect([code(1), code(2), code(3)]).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
    expect(t.counters).toMatchObject({ lostLeadership: 1, deadline: 1, stopping: 1 });
    t.applied(3, 2, resp.simple('OK'));
    expect(answers.get(3)).toHaveLength(1);
  });

  it('early answers stand whatever happens to the entry later', () => {
    track(8);
    t.answerEarly(8, resp.simple('OK'));
    expect(t.unanswered()).toEqual([]);
    t.leadershipLost();
    expect(answers.get(8)).toEqual([resp.simple('OK')]);
  });
});
