import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { UsageError } from '../cli/errors.js';
import { FAULT_KINDS, TARGETS, type FaultKind, type Target } from '../nemesis/schedule.js';
import { PARTITION_SHAPES, type PartitionShape } from '../nemesis/shapes.js';
import type { WorkloadKind } from '../workload/generator.js';

/** The planted bugs a node can be started with (cli.md: test only). */
export const UNSAFE_BUGS = ['stale-reads', 'lazy-wal', 'early-ack'] as const;

export interface NemesisSpec {
  readonly kinds: readonly FaultKind[];
  /** Seconds each fault lasts. */
  readonly faultS: number;
  /** Seconds healed between faults. */
  readonly healS: number;
  /** Seconds of quiet before the first fault. */
  readonly firstS: number;
  readonly order: 'random' | 'cycle';
  readonly partition: readonly PartitionShape[];
  readonly pause: readonly Target[];
  readonly kill: readonly Target[];
  readonly flaky: { readonly loss: number; readonly targets: readonly Target[] };
  readonly slow: {
    readonly delayMs: number;
    readonly jitterMs: number;
    readonly targets: readonly Target[];
  };
}

/** One experiment, complete: every default filled in, so the file written with a run replays it. */
export interface Experiment {
  readonly name: string;
  readonly nodes: number;
  readonly timeLimitS: number;
  readonly rate: number;
  readonly concurrency: number;
  readonly workload: WorkloadKind;
  readonly keys: number;
  readonly opsPerKey: number;
  readonly opTimeoutMs: number;
  readonly clientFailover: boolean;
  readonly seed: number;
  readonly image: string | null;
  readonly unsafe: string | null;
  /** Seconds the healed cluster gets to elect a leader and catch up before the final reads. */
  readonly recoverS: number;
  readonly nemesis: NemesisSpec;
  readonly checks: {
    readonly linearizability: { readonly timeoutS: number };
    readonly availability: { readonly required: boolean; readonly failStreakLimit: number };
  };
}

export const DEFAULT_NEMESIS: NemesisSpec = {
  kinds: ['partition', 'pause', 'kill', 'flaky', 'slow'],
  faultS: 10,
  healS: 10,
  firstS: 5,
  order: 'random',
  partition: ['isolate', 'isolate-leader', 'halves', 'ring', 'bridge', 'one-way'],
  pause: ['one', 'leader', 'minority'],
  kill: ['one', 'leader', 'minority'],
  flaky: { loss: 0.1, targets: ['all'] },
  slow: { delayMs: 35, jitterMs: 15, targets: ['all'] },
};

export function defaultExperiment(seed: number): Experiment {
  return {
    name: 'default',
    nodes: 5,
    timeLimitS: 60,
    rate: 200,
    concurrency: 10,
    workload: 'kv',
    keys: 10,
    opsPerKey: 300,
    opTimeoutMs: 2000,
    clientFailover: false,
    seed,
    image: null,
    unsafe: null,
    recoverS: 10,
    nemesis: DEFAULT_NEMESIS,
    checks: {
      linearizability: { timeoutS: 120 },
      availability: { required: false, failStreakLimit: 10 },
    },
  };
}

/** The command-line flags of `raftbed run` that shape the experiment (strings as parsed). */
export interface ExperimentFlags {
  readonly nodes?: string | undefined;
  readonly 'time-limit'?: string | undefined;
  readonly rate?: string | undefined;
  readonly concurrency?: string | undefined;
  readonly workload?: string | undefined;
  readonly keys?: string | undefined;
  readonly nemesis?: string | undefined;
  readonly 'nemesis-interval'?: string | undefined;
  readonly seed?: string | undefined;
  readonly image?: string | undefined;
  readonly unsafe?: string | undefined;
  readonly 'client-failover'?: boolean | undefined;
  readonly name?: string | undefined;
  readonly 'op-timeout'?: string | undefined;
}

type Doc = Record<string, unknown>;

/** A problem in a file or a flag, reported as one line naming where it is. */
class Where {
  constructor(readonly label: string) {}
  fail(path: string, problem: string): never {
    throw new UsageError(`${this.label}: ${path}: ${problem}`);
  }
}

function int(w: Where, path: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    w.fail(path, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function num(w: Where, path: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    w.fail(path, `must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function str(w: Where, path: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') w.fail(path, `must be a non-empty string`);
  return v;
}

function bool(w: Where, path: string, v: unknown): boolean {
  if (typeof v !== 'boolean') w.fail(path, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(w: Where, path: string, v: unknown, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    w.fail(path, `must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** A list given as a YAML list or a comma-separated string. */
function listOf<T extends string>(w: Where, path: string, v: unknown, choices: readonly T[]): T[] {
  const items = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  if (!Array.isArray(items)) w.fail(path, `must be a list of ${choices.join(', ')}`);
  return items.map((item, i) => oneOf(w, `${path}[${i}]`, item, choices));
}

function obj(w: Where, path: string, v: unknown, keys: readonly string[]): Doc {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) w.fail(path, 'must be a mapping');
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) w.fail(path, `unknown key '${k}' (known: ${keys.join(', ')})`);
  }
  return v as Doc;
}

const TOP_KEYS = [
  'name',
  'nodes',
  'time-limit',
  'rate',
  'concurrency',
  'workload',
  'keys',
  'ops-per-key',
  'op-timeout',
  'client-failover',
  'seed',
  'image',
  'unsafe',
  'recover',
  'nemesis',
  'nemesis-interval',
  'checks',
] as const;

function parseNemesis(w: Where, v: unknown, base: NemesisSpec): NemesisSpec {
  if (v === 'none' || v === null || v === false) return { ...base, kinds: [] };
  if (typeof v === 'string' || Array.isArray(v)) {
    return { ...base, kinds: listOf(w, 'nemesis', v, FAULT_KINDS) };
  }
  const d = obj(w, 'nemesis', v, [
    'kinds',
    'interval',
    'fault',
    'heal',
    'first',
    'order',
    'partition',
    'pause',
    'kill',
    'flaky',
    'slow',
  ]);
  const interval =
    d['interval'] === undefined ? undefined : num(w, 'nemesis.interval', d['interval'], 0.1, 86400);
  const s = (key: string, fallback: number): number =>
    d[key] === undefined ? (interval ?? fallback) : num(w, `nemesis.${key}`, d[key], 0, 86400);
  const flaky =
    d['flaky'] === undefined ? {} : obj(w, 'nemesis.flaky', d['flaky'], ['loss', 'targets']);
  const slow =
    d['slow'] === undefined
      ? {}
      : obj(w, 'nemesis.slow', d['slow'], ['delay', 'jitter', 'targets']);
  return {
    kinds:
      d['kinds'] === undefined
        ? base.kinds
        : d['kinds'] === 'none'
          ? []
          : listOf(w, 'nemesis.kinds', d['kinds'], FAULT_KINDS),
    faultS: s('fault', base.faultS),
    healS: s('heal', base.healS),
    firstS: d['first'] === undefined ? base.firstS : num(w, 'nemesis.first', d['first'], 0, 86400),
    order:
      d['order'] === undefined
        ? base.order
        : oneOf(w, 'nemesis.order', d['order'], ['random', 'cycle'] as const),
    partition:
      d['partition'] === undefined
        ? base.partition
        : listOf(w, 'nemesis.partition', d['partition'], PARTITION_SHAPES),
    pause: d['pause'] === undefined ? base.pause : listOf(w, 'nemesis.pause', d['pause'], TARGETS),
    kill: d['kill'] === undefined ? base.kill : listOf(w, 'nemesis.kill', d['kill'], TARGETS),
    flaky: {
      loss:
        flaky['loss'] === undefined
          ? base.flaky.loss
          : num(w, 'nemesis.flaky.loss', flaky['loss'], 0, 1),
      targets:
        flaky['targets'] === undefined
          ? base.flaky.targets
          : listOf(w, 'nemesis.flaky.targets', flaky['targets'], TARGETS),
    },
    slow: {
      delayMs:
        slow['delay'] === undefined
          ? base.slow.delayMs
          : num(w, 'nemesis.slow.delay', slow['delay'], 0, 60_000),
      jitterMs:
        slow['jitter'] === undefined
          ? base.slow.jitterMs
          : num(w, 'nemesis.slow.jitter', slow['jitter'], 0, 60_000),
      targets:
        slow['targets'] === undefined
          ? base.slow.targets
          : listOf(w, 'nemesis.slow.targets', slow['targets'], TARGETS),
    },
  };
}

/** Applies a parsed YAML document (or nothing) on top of the defaults. */
export function experimentFromDoc(raw: unknown, label: string, seed: number): Experiment {
  const base = defaultExperiment(seed);
  if (raw === null || raw === undefined) return base;
  const w = new Where(label);
  const d = obj(w, 'top level', raw, TOP_KEYS);
  const get = <T>(key: (typeof TOP_KEYS)[number], read: (v: unknown) => T, fallback: T): T =>
    d[key] === undefined ? fallback : read(d[key]);
  let nemesis = get('nemesis', (v) => parseNemesis(w, v, base.nemesis), base.nemesis);
  if (d['nemesis-interval'] !== undefined) {
    const i = num(w, 'nemesis-interval', d['nemesis-interval'], 0.1, 86400);
    nemesis = { ...nemesis, faultS: i, healS: i };
  }
  const checks =
    d['checks'] === undefined
      ? {}
      : obj(w, 'checks', d['checks'], ['linearizability', 'availability']);
  const lin =
    checks['linearizability'] === undefined
      ? {}
      : obj(w, 'checks.linearizability', checks['linearizability'], ['timeout']);
  const avail =
    checks['availability'] === undefined
      ? {}
      : obj(w, 'checks.availability', checks['availability'], ['required', 'fail-streak-limit']);
  return {
    name: get('name', (v) => safeName(w, 'name', v), base.name),
    nodes: get('nodes', (v) => int(w, 'nodes', v, 1, 15), base.nodes),
    timeLimitS: get('time-limit', (v) => num(w, 'time-limit', v, 1, 86400), base.timeLimitS),
    rate: get('rate', (v) => num(w, 'rate', v, 0.1, 100_000), base.rate),
    concurrency: get('concurrency', (v) => int(w, 'concurrency', v, 1, 1000), base.concurrency),
    workload: get(
      'workload',
      (v) => oneOf(w, 'workload', v, ['kv', 'register'] as const),
      base.workload,
    ),
    keys: get('keys', (v) => int(w, 'keys', v, 1, 10_000), base.keys),
    opsPerKey: get('ops-per-key', (v) => int(w, 'ops-per-key', v, 1, 1_000_000), base.opsPerKey),
    opTimeoutMs: get(
      'op-timeout',
      (v) => num(w, 'op-timeout', v, 0.01, 600) * 1000,
      base.opTimeoutMs,
    ),
    clientFailover: get(
      'client-failover',
      (v) => bool(w, 'client-failover', v),
      base.clientFailover,
    ),
    seed: get('seed', (v) => int(w, 'seed', v, 0, 0xffffffff), base.seed),
    image: get('image', (v) => str(w, 'image', v), base.image),
    unsafe: get(
      'unsafe',
      (v) => (v === 'none' ? null : oneOf(w, 'unsafe', v, UNSAFE_BUGS)),
      base.unsafe,
    ),
    recoverS: get('recover', (v) => num(w, 'recover', v, 0, 3600), base.recoverS),
    nemesis,
    checks: {
      linearizability: {
        timeoutS:
          lin['timeout'] === undefined
            ? base.checks.linearizability.timeoutS
            : num(w, 'checks.linearizability.timeout', lin['timeout'], 0.1, 86400),
      },
      availability: {
        required:
          avail['required'] === undefined
            ? base.checks.availability.required
            : bool(w, 'checks.availability.required', avail['required']),
        failStreakLimit:
          avail['fail-streak-limit'] === undefined
            ? base.checks.availability.failStreakLimit
            : int(
                w,
                'checks.availability.fail-streak-limit',
                avail['fail-streak-limit'],
                1,
                1_000_000,
              ),
      },
    },
  };
}

function safeName(w: Where, path: string, v: unknown): string {
  const s = str(w, path, v);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s)) {
    w.fail(path, `must be letters, digits, '.', '_' or '-' (it names the run folder), got '${s}'`);
  }
  return s;
}

/** Reads an experiment file; a missing file or bad YAML is one line naming the file. */
export function readExperimentFile(file: string, seed: number): Experiment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `raftbed run: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new UsageError(`${file}: not valid YAML: ${first}`);
  }
  return experimentFromDoc(doc, file, seed);
}

/** Flags override the file, field by field. */
export function applyFlags(experiment: Experiment, flags: ExperimentFlags): Experiment {
  const doc: Doc = experimentToDoc(experiment);
  const set = (key: string, v: unknown): void => {
    if (v !== undefined) doc[key] = v;
  };
  set('name', flags.name);
  set('nodes', flags.nodes);
  set('time-limit', flags['time-limit']);
  set('rate', flags.rate);
  set('concurrency', flags.concurrency);
  set('workload', flags.workload);
  set('keys', flags.keys);
  set('seed', flags.seed);
  set('image', flags.image);
  set('unsafe', flags.unsafe);
  set('op-timeout', flags['op-timeout']);
  if (flags['client-failover'] === true) doc['client-failover'] = true;
  const nemesis = doc['nemesis'] as Doc;
  if (flags.nemesis !== undefined) {
    nemesis['kinds'] = flags.nemesis === 'none' ? [] : flags.nemesis;
  }
  if (flags['nemesis-interval'] !== undefined) {
    const i = num(
      new Where('raftbed run'),
      '--nemesis-interval',
      flags['nemesis-interval'],
      0.1,
      86400,
    );
    nemesis['fault'] = i;
    nemesis['heal'] = i;
  }
  return experimentFromDoc(doc, 'raftbed run (flags)', experiment.seed);
}

/** The experiment in the file format, every field written out. */
export function experimentToDoc(e: Experiment): Doc {
  return {
    name: e.name,
    nodes: e.nodes,
    'time-limit': e.timeLimitS,
    rate: e.rate,
    concurrency: e.concurrency,
    workload: e.workload,
    keys: e.keys,
    'ops-per-key': e.opsPerKey,
    'op-timeout': e.opTimeoutMs / 1000,
    'client-failover': e.clientFailover,
    seed: e.seed,
    ...(e.image === null ? {} : { image: e.image }),
    ...(e.unsafe === null ? {} : { unsafe: e.unsafe }),
    recover: e.recoverS,
    nemesis: {
      kinds: [...e.nemesis.kinds],
      fault: e.nemesis.faultS,
      heal: e.nemesis.healS,
      first: e.nemesis.firstS,
      order: e.nemesis.order,
      partition: [...e.nemesis.partition],
      pause: [...e.nemesis.pause],
      kill: [...e.nemesis.kill],
      flaky: { loss: e.nemesis.flaky.loss, targets: [...e.nemesis.flaky.targets] },
      slow: {
        delay: e.nemesis.slow.delayMs,
        jitter: e.nemesis.slow.jitterMs,
        targets: [...e.nemesis.slow.targets],
      },
    },
    checks: {
      linearizability: { timeout: e.checks.linearizability.timeoutS },
      availability: {
        required: e.checks.availability.required,
        'fail-streak-limit': e.checks.availability.failStreakLimit,
      },
    },
  };
}

export function experimentToYaml(e: Experiment): string {
  return `# raftbed experiment as run; replay with: raftbed run THIS_FILE\n${toYaml(experimentToDoc(e))}`;
}
