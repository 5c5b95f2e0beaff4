import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { defaultSpec, specProblem } from './spec.js';
import type { ClusterSpec } from './spec.js';

/**
 * raftbed.yml, in blockade.yml's spirit: one small file says what the cluster
 * is, and every cluster command reads it from the current folder.
 *
 *   name: demo                      # cluster name (containers demo-n1, ...)
 *   nodes: 5
 *   image: raftbed:0123456789ab     # default: build this checkout's image
 *   subnet: 10.77.3.0/24            # default: a free /24
 *   heartbeat_ms: 100
 *   election_timeout_ms: 600-1200   # or [600, 1200]
 *   fsync: always                   # the node's --fsync: always, batch or never
 *   unsafe: stale-reads             # a planted bug, test only
 *   node_flags: [--some-flag, value]
 *   command: [node, /app/dist/harness/faults/probe.js, serve]   # instead of raftbed node
 */
export const CONFIG_FILE = 'raftbed.yml';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const KEYS = [
  'name',
  'nodes',
  'image',
  'subnet',
  'heartbeat_ms',
  'election_timeout_ms',
  'fsync',
  'unsafe',
  'node_flags',
  'command',
] as const;

export async function loadClusterConfig(file: string): Promise<ClusterSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return parseClusterConfig(text, file);
}

export function parseClusterConfig(text: string, file: string = CONFIG_FILE): ClusterSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError) {
    const line = lines.linePos(firstError.pos[0]).line;
    throw new ConfigError(`${file}:${line}: ${firstError.message.split('\n')[0]}`);
  }
  if (doc.contents === null) return defaultSpec();
  if (!isMap(doc.contents)) throw new ConfigError(`${file}:1: expected a mapping of settings`);

  const at = (node: YamlNode | null | undefined): string => {
    const pos = node?.range?.[0];
    return `${file}:${pos === undefined ? 1 : lines.linePos(pos).line}`;
  };
  const spec: {
    -readonly [K in keyof ClusterSpec]: ClusterSpec[K];
  } = { ...defaultSpec() };
  for (const pair of doc.contents.items) {
    const keyNode = pair.key as YamlNode | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    const where = at(keyNode);
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`${where}: unknown setting '${key}' (known: ${KEYS.join(', ')})`);
    }
    const value: unknown = (pair.value as YamlNode | null)?.toJSON() ?? null;
    const bad = (what: string): ConfigError =>
      new ConfigError(`${where}: ${key} must be ${what}, got ${JSON.stringify(value)}`);
    switch (key as (typeof KEYS)[number]) {
      case 'name':
        if (typeof value !== 'string') throw bad('a string');
        spec.name = value;
        break;
      case 'nodes':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw bad('a whole number');
        spec.nodes = value;
        break;
      case 'image':
        if (typeof value !== 'string' || value === '') throw bad('an image reference');
        spec.image = value;
        break;
      case 'subnet':
        if (typeof value !== 'string' || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(value)) {
          throw bad('an IPv4 CIDR like 10.77.3.0/24');
        }
        spec.subnet = value;
        break;
      case 'heartbeat_ms':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
          throw bad('a positive whole number');
        }
        spec.heartbeatMs = value;
        break;
      case 'election_timeout_ms': {
        const range = parseRange(value);
        if (range === undefined) throw bad('MIN-MAX or [MIN, MAX]');
        spec.electionTimeoutMs = range;
        break;
      }
      case 'fsync':
        if (value !== 'always' && value !== 'batch' && value !== 'never') {
          throw bad('always, batch or never');
        }
        spec.fsync = value;
        break;
      case 'unsafe':
        if (typeof value !== 'string') throw bad('a bug name');
        spec.unsafe = value;
        break;
      case 'node_flags':
        if (!isStringList(value)) throw bad('a list of strings');
        spec.nodeFlags = value;
        break;
      case 'command':
        if (!isStringList(value) || value.length === 0) throw bad('a non-empty list of strings');
        spec.command = value;
        break;
    }
  }
  const problem = specProblem(spec);
  if (problem) throw new ConfigError(`${file}: ${problem}`);
  return spec;
}

export function parseRange(value: unknown): readonly [number, number] | undefined {
  let lo: unknown;
  let hi: unknown;
  if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(value);
    if (!m) return undefined;
    lo = Number(m[1]);
    hi = Number(m[2]);
  } else if (Array.isArray(value) && value.length === 2) {
    [lo, hi] = value as unknown[];
  } else {
    return undefined;
  }
  if (typeof lo !== 'number' || typeof hi !== 'number') return undefined;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) return undefined;
  return [lo, hi];
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
