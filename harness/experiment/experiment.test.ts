import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UsageError } from '../cli/errors.js';
import {
  applyFlags,
  defaultExperiment,
  experimentFromDoc,
  experimentToYaml,
  readExperimentFile,
} from './experiment.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'raftbed-exp-'));
  dirs.push(d);
  const f = join(d, 'x.yml');
  writeFileSync(f, text);
  return f;
}

describe('experiment files', () => {
  it('fills defaults and reads every field', () => {
    const f = file(`
name: partition-each
nodes: 3
time-limit: 30
client-failover: true
workload: register
nemesis:
  kinds: [partition]
  fault: 20
  heal: 10
  order: cycle
  partition: [isolate]
  slow: { delay: 20, jitter: 5 }
checks:
  availability: { required: true, fail-streak-limit: 10 }
`);
    const e = readExperimentFile(f, 99);
    expect(e).toMatchObject({
      name: 'partition-each',
      nodes: 3,
      timeLimitS: 30,
      clientFailover: true,
      workload: 'register',
      seed: 99,
      rate: 200,
      nemesis: {
        kinds: ['partition'],
        faultS: 20,
        healS: 10,
        order: 'cycle',
        partition: ['isolate'],
      },
      checks: { availability: { required: true, failStreakLimit: 10 } },
    });
    expect(e.nemesis.slow).toEqual({ delayMs: 20, jitterMs: 5, targets: ['all'] });
  });

  it('names the file and the key of a mistake', () => {
    expect(() => readExperimentFile(file('nodez: 3\n'), 1)).toThrow(
      /x\.yml: top level: unknown key 'nodez'/,
    );
    expect(() => readExperimentFile(file('nodes: many\n'), 1)).toThrow(
      /x\.yml: nodes: must be a whole number from 1 to 15, got "many"/,
    );
    expect(() => readExperimentFile(file('nemesis: [partition, fire]\n'), 1)).toThrow(
      /nemesis\[1\]: must be one of partition, pause, kill, flaky, slow, got "fire"/,
    );
    expect(() => readExperimentFile(file('nemesis: {slow: {delay: -1}}\n'), 1)).toThrow(
      /nemesis\.slow\.delay/,
    );
    expect(() => readExperimentFile(file('a: [\n'), 1)).toThrow(/x\.yml: not valid YAML/);
    expect(() => readExperimentFile('/nonexistent/e.yml', 1)).toThrow(UsageError);
    expect(() => readExperimentFile(file('name: ../etc\n'), 1)).toThrow(/names the run folder/);
  });

  it('lets flags override the file, field by field', () => {
    const e = readExperimentFile(file('nodes: 3\nrate: 50\nnemesis: [kill]\n'), 7);
    const f = applyFlags(e, {
      rate: '80',
      nemesis: 'partition,slow',
      'nemesis-interval': '4',
      seed: '5',
    });
    expect(f).toMatchObject({ nodes: 3, rate: 80, seed: 5 });
    expect(f.nemesis).toMatchObject({ kinds: ['partition', 'slow'], faultS: 4, healS: 4 });
    expect(applyFlags(e, { nemesis: 'none' }).nemesis.kinds).toEqual([]);
    expect(applyFlags(e, { 'client-failover': true }).clientFailover).toBe(true);
    expect(applyFlags(e, { unsafe: 'lazy-wal' }).unsafe).toBe('lazy-wal');
    expect(() => applyFlags(e, { rate: 'fast' })).toThrow(/rate: must be a number/);
    expect(() => applyFlags(e, { unsafe: 'everything' })).toThrow(
      /unsafe: must be one of stale-reads, lazy-wal, early-ack/,
    );
  });

  it('writes the experiment as run so that it reads back the same', () => {
    const e = applyFlags(defaultExperiment(31337), {
      image: 'raftbed-node:abc',
      unsafe: 'stale-reads',
      nodes: '3',
    });
    const text = experimentToYaml(e);
    expect(text).toContain('seed: 31337');
    expect(experimentFromDoc(parse(text), 'round trip', 0)).toEqual(e);
  });
});
