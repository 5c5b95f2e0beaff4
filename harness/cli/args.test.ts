import { describe, expect, it } from 'vitest';
import { choiceFlag, intFlag, numberFlag, parseFlags } from './args.js';
import { UsageError } from './errors.js';

describe('parseFlags', () => {
  const specs = { seeds: { type: 'string' }, json: { type: 'boolean' } } as const;

  it('reads flags and positionals', () => {
    const { flags, positionals } = parseFlags('sim', specs, ['--seeds', '5', 'file', '--json']);
    expect(flags.seeds).toBe('5');
    expect(flags.json).toBe(true);
    expect(positionals).toEqual(['file']);
  });

  it('names the command and the unknown flag in a UsageError', () => {
    expect(() => parseFlags('sim', specs, ['--sedes', '5'])).toThrow(UsageError);
    expect(() => parseFlags('sim', specs, ['--sedes', '5'])).toThrow(
      "raftbed sim: unknown option '--sedes' (see --help)",
    );
  });

  it('rejects a string flag without its value', () => {
    expect(() => parseFlags('sim', specs, ['--seeds'])).toThrow(
      'raftbed sim: --seeds needs a value (see --help)',
    );
  });
});

describe('value flags', () => {
  it('parses whole numbers within bounds', () => {
    expect(intFlag('sim', 'seeds', '12', 1, 1, 100)).toBe(12);
    expect(intFlag('sim', 'seeds', undefined, 7)).toBe(7);
    expect(() => intFlag('sim', 'seeds', '1.5', 1)).toThrow(/--seeds must be a whole number/);
    expect(() => intFlag('sim', 'seeds', '0', 1, 1, 100)).toThrow(UsageError);
    expect(() => intFlag('sim', 'seeds', 'ten', 1)).toThrow(UsageError);
  });

  it('parses fractions within bounds', () => {
    expect(numberFlag('flaky', 'loss', '0.1', 0, 0, 1)).toBeCloseTo(0.1);
    expect(() => numberFlag('flaky', 'loss', '1.5', 0, 0, 1)).toThrow(/--loss/);
    expect(() => numberFlag('flaky', 'loss', '', 0, 0, 1)).toThrow(UsageError);
  });

  it('accepts only listed choices', () => {
    expect(choiceFlag('check', 'model', 'kv', ['kv', 'register'], 'register')).toBe('kv');
    expect(() => choiceFlag('check', 'model', 'queue', ['kv', 'register'], 'kv')).toThrow(
      /one of kv, register, got 'queue'/,
    );
  });
});
