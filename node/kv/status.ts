/**
 * The replies of RAFT.STATUS and INFO, built and read in one place so that the
 * node and the harness agree on them.
 *
 * RAFT.STATUS (cli.md): a flat array of alternating field names and values, all
 * bulk strings, numbers in decimal; `leader` is nil when no leader is known.
 * INFO: one bulk string of `# Section` headers and `name:value` lines, as Redis.
 */
import { ROLES, type Role } from '../log.js';
import { resp, type RespValue } from './resp.js';

export interface NodeStatus {
  readonly id: string;
  readonly role: Role;
  readonly term: number;
  readonly leader: string | null;
  readonly commit: number;
  readonly applied: number;
  /** Index of the last entry in the log. */
  readonly last: number;
  /** Index of the last snapshot (0 for none). */
  readonly snapshot: number;
}

const NUMBER_FIELDS = ['term', 'commit', 'applied', 'last', 'snapshot'] as const;

export function statusReply(s: NodeStatus): RespValue {
  const pair = (name: string, value: string | null): RespValue[] => [
    resp.bulk(name),
    resp.bulk(value),
  ];
  return resp.array([
    ...pair('id', s.id),
    ...pair('role', s.role),
    ...pair('term', String(s.term)),
    ...pair('leader', s.leader),
    ...pair('commit', String(s.commit)),
    ...pair('applied', String(s.applied)),
    ...pair('last', String(s.last)),
    ...pair('snapshot', String(s.snapshot)),
  ]);
}

/** Reads a RAFT.STATUS reply; null when it is not one. Unknown extra fields are ignored. */
export function parseStatusReply(v: RespValue): NodeStatus | null {
  if (v.type !== 'array' || v.value === null || v.value.length % 2 !== 0) return null;
  const fields = new Map<string, string | null>();
  for (let i = 0; i < v.value.length; i += 2) {
    const k = v.value[i];
    const val = v.value[i + 1];
    if (k?.type !== 'bulk' || k.value === null || val?.type !== 'bulk') return null;
    fields.set(
      Buffer.from(k.value).toString(),
      val.value === null ? null : Buffer.from(val.value).toString(),
    );
  }
  const id = fields.get('id');
  const role = fields.get('role');
  if (typeof id !== 'string' || !ROLES.includes(role as Role) || !fields.has('leader')) return null;
  const numbers: Partial<Record<(typeof NUMBER_FIELDS)[number], number>> = {};
  for (const f of NUMBER_FIELDS) {
    const text = fields.get(f);
    if (text == null || !/^\d+$/.test(text)) return null;
    numbers[f] = Number(text);
  }
  return {
    id,
    role: role as Role,
    leader: fields.get('leader') ?? null,
    term: numbers.term ?? 0,
    commit: numbers.commit ?? 0,
    applied: numbers.applied ?? 0,
    last: numbers.last ?? 0,
    snapshot: numbers.snapshot ?? 0,
  };
}

export type InfoSections = Readonly<Record<string, Readonly<Record<string, string | number>>>>;

/** INFO's reply; `section` (lower case) keeps only that section, as Redis does. */
export function infoReply(sections: InfoSections, section: string | null = null): RespValue {
  const parts: string[] = [];
  for (const [name, fields] of Object.entries(sections)) {
    if (
      section !== null &&
      section !== 'all' &&
      section !== 'everything' &&
      name.toLowerCase() !== section
    )
      continue;
    const lines = Object.entries(fields).map(
      ([k, v]) => `${k}:${String(v).replace(/[\r\n]/g, ' ')}`,
    );
    parts.push([`# ${name}`, ...lines].join('\r\n'));
  }
  return resp.bulk(parts.join('\r\n\r\n') + (parts.length > 0 ? '\r\n' : ''));
}

/** Reads INFO text back into sections of `name -> value` text. */
export function parseInfo(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('# ')) {
      current = {};
      out[line.slice(2).trim()] = current;
    } else if (current !== null && line.includes(':')) {
      const at = line.indexOf(':');
      current[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return out;
}
