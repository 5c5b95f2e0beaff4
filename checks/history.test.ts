import { describe, expect, it } from 'vitest';
import { describeOperation } from './history.js';
import type { Operation } from './history.js';

const op = (o: Pick<Operation, 'f' | 'value' | 'outcome'> & Partial<Operation>): Operation => ({
  index: 0,
  process: 0,
  call: 0,
  ret: 1,
  line: 1,
  retLine: 2,
  ...o,
});

describe('describeOperation', () => {
  it('shows what a read returned, nil included', () => {
    expect(describeOperation(op({ f: 'read', value: null, outcome: 'ok', result: 3 }))).toBe(
      'read -> 3',
    );
    expect(describeOperation(op({ f: 'read', value: null, outcome: 'ok', result: null }))).toBe(
      'read -> null',
    );
  });

  it('says ok for a call that returns its argument, the result otherwise', () => {
    expect(describeOperation(op({ f: 'write', value: 4, outcome: 'ok', result: 4 }))).toBe(
      'write 4 -> ok',
    );
    expect(describeOperation(op({ f: 'append', value: 'a', outcome: 'ok', result: 'ab' }))).toBe(
      'append "a" -> "ab"',
    );
  });

  it('names failures with their reason and ops that never completed', () => {
    expect(
      describeOperation(op({ f: 'cas', value: [1, 2], outcome: 'fail', error: 'cas-mismatch' })),
    ).toBe('cas [1,2] -> fail (cas-mismatch)');
    expect(describeOperation(op({ f: 'write', value: 5, outcome: 'info' }))).toBe(
      'write 5 -> info',
    );
    expect(describeOperation(op({ f: 'write', value: 5, outcome: 'open' }))).toBe(
      'write 5 -> (never completed)',
    );
  });
});
