/**
 * The settings of `raftbed node`, from three places: command-line flags, the
 * environment (`--client-port` is RAFTBED_CLIENT_PORT: every flag's name in upper
 * case with RAFTBED_ in front), and an optional JSON or YAML file (`--config`,
 * keys named as the flags). Flags win over the environment, which wins over the
 * file, which wins over the defaults. An empty environment variable counts as unset.
 *
 * Every problem is one UsageError line that names the flag, variable or file.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseFlags } from '../harness/cli/args.js';
import { UsageError } from '../harness/cli/errors.js';
import type { NodeId } from './raft/types.js';
import { ID_PATTERN, MAX_HEADER_BYTES } from './transport/header.js';
import type { PeerAddress } from './transport/peers.js';

export type FsyncPolicy = 'always' | 'batch' | 'never';
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'batch', 'never'];

/**
 * Planted bugs for the testbed to catch; `none` in any real use.
 * - stale-reads: every node answers GET from its own state (no ReadIndex, no forwarding).
 * - lazy-wal: acknowledge before the entry is durable; the log is flushed on a timer.
 * - early-ack: the leader acknowledges a write once it is in its own log, before a majority has it.
 */
export type UnsafeMode = 'none' | 'stale-reads' | 'lazy-wal' | 'early-ack';
export const UNSAFE_MODES: readonly UnsafeMode[] = ['none', 'stale-reads', 'lazy-wal', 'early-ack'];

export interface NodeConfig {
  readonly id: NodeId;
  /** Every member in the order given, this node included; its own entry is the Raft address bound. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly data: string;
  /** 0 lets the system pick a port (tests). */
  readonly clientPort: number;
  readonly bindClient: string;
  readonly clusterId: string;
  readonly fsync: FsyncPolicy;
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: { readonly min: number; readonly max: number };
  /** Log entries kept after the last snapshot before a new one is taken and the log compacted. */
  readonly logLength: number;
  /** Bytes of snapshot data in one InstallSnapshot chunk. */
  readonly chunkLength: number;
  /** Largest Raft message payload in one datagram, in bytes; the transport header comes on top. */
  readonly maxMessage: number;
  readonly unsafe: UnsafeMode;
  /** The file the settings were read from, if any. */
  readonly configFile: string | null;
}

/**
 * Bytes of a message kept free around a snapshot chunk (term, ids, indexes,
 * offsets, the configuration): `--chunk-length` may be at most
 * `--max-message` minus this.
 */
export const CHUNK_MESSAGE_RESERVE = 128;
/** Forwarded writes and a maximal key-value entry must fit one message. */
export const MIN_MAX_MESSAGE = 1200;
/** The largest UDP payload is 65,507 bytes; the header takes up to MAX_HEADER_BYTES of it. */
export const MAX_MAX_MESSAGE = 65_507 - MAX_HEADER_BYTES;

export const NODE_DEFAULTS = {
  clientPort: 6379,
  bindClient: '0.0.0.0',
  clusterId: 'raftbed',
  fsync: 'always' as FsyncPolicy,
  heartbeatMs: 50,
  electionTimeoutMs: { min: 150, max: 300 },
  logLength: 10_000,
  chunkLength: 1024,
  maxMessage: 1400,
  unsafe: 'none' as UnsafeMode,
} as const;

const SETTINGS = [
  'id',
  'peers',
  'data',
  'client-port',
  'bind-client',
  'cluster-id',
  'fsync',
  'heartbeat-ms',
  'election-timeout-ms',
  'log-length',
  'chunk-length',
  'max-message',
  'unsafe',
] as const;
type Setting = (typeof SETTINGS)[number];

export const NODE_FLAGS = {
  ...(Object.fromEntries(SETTINGS.map((s) => [s, { type: 'string' }])) as Record<
    Setting,
    { type: 'string' }
  >),
  config: { type: 'string' },
} as const;

export const NODE_HELP = `usage: raftbed node --id ID --peers ID=HOST:PORT,... --data DIR [--client-port PORT] [flags]

Runs one Raft key-value node in the foreground. Clients speak RESP on the client
port; Raft traffic is UDP on this node's own address in --peers.

Every flag can also come from the environment, named RAFTBED_ and the flag in
upper case with '_' for '-' (--client-port is RAFTBED_CLIENT_PORT), or from a
JSON or YAML file given with --config whose keys are the flag names. Flags win
over the environment, the environment over the file.

  --id ID                        this node's id (1-16 of A-Z a-z 0-9 . _ -)
  --peers ID=HOST:PORT,...       every member, this node included (IPv6 as [ADDR]:PORT)
  --data DIR                     where the log and snapshots live
  --client-port PORT             RESP port (default ${NODE_DEFAULTS.clientPort}; 0 picks a free one)
  --bind-client HOST             address the RESP port listens on (default ${NODE_DEFAULTS.bindClient})
  --cluster-id ID                datagrams of other clusters are dropped (default ${NODE_DEFAULTS.clusterId})
  --fsync always|batch|never     when the log is synced to disk (default ${NODE_DEFAULTS.fsync})
  --heartbeat-ms MS              leader heartbeat interval (default ${NODE_DEFAULTS.heartbeatMs})
  --election-timeout-ms MIN-MAX  randomized election timeout (default ${NODE_DEFAULTS.electionTimeoutMs.min}-${NODE_DEFAULTS.electionTimeoutMs.max})
  --log-length N                 entries after the last snapshot before the next (default ${NODE_DEFAULTS.logLength})
  --chunk-length BYTES           snapshot bytes per chunk (default ${NODE_DEFAULTS.chunkLength})
  --max-message BYTES            largest Raft message per datagram (default ${NODE_DEFAULTS.maxMessage}, ${MIN_MAX_MESSAGE}-${MAX_MAX_MESSAGE})
  --unsafe none|stale-reads|lazy-wal|early-ack
                                 plant a known bug, for testing the testbed only (default none)
  --config FILE                  read settings from a JSON or YAML file
`;

/** Where a raw setting came from, for messages: `--peers`, `RAFTBED_PEERS`, `node.yml: peers`. */
interface Raw {
  readonly value: string;
  readonly label: string;
}

export function envName(setting: string): string {
  return `RAFTBED_${setting.toUpperCase().replace(/-/g, '_')}`;
}

const COMMAND = 'raftbed node';

function usage(message: string): UsageError {
  return new UsageError(`${COMMAND}: ${message}`);
}

function readConfigFile(
  path: string,
  label: string,
  read: (p: string) => string,
): Map<Setting, Raw> {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw usage(`${label}: cannot read ${path}: ${why}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw usage(`${path}: not valid JSON or YAML: ${why}`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw usage(`${path}: must be a mapping of settings`);
  const out = new Map<Setting, Raw>();
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (!(SETTINGS as readonly string[]).includes(key)) {
      throw usage(
        `${path}: unknown setting '${key}' (settings are named as the flags: ${SETTINGS.join(', ')})`,
      );
    }
    const where = `${path}: ${key}`;
    out.set(key as Setting, { value: fileValue(key, value, where), label: where });
  }
  return out;
}

/** Scalars as their text; peers may also be a mapping or a list; the timeout a [min, max] pair. */
function fileValue(key: string, value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (key === 'peers' && Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return value.join(',');
  }
  if (key === 'peers' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.every(([, v]) => typeof v === 'string'))
      return entries.map(([k, v]) => `${k}=${String(v)}`).join(',');
  }
  if (key === 'election-timeout-ms' && Array.isArray(value) && value.length === 2) {
    return `${String(value[0])}-${String(value[1])}`;
  }
  throw usage(`${where} must be a single value, got ${JSON.stringify(value)}`);
}

function wholeNumber(raw: Raw, min: number, max: number): number {
  const n = Number(raw.value);
  if (!/^\d+$/.test(raw.value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw usage(`${raw.label} must be a whole number from ${min} to ${max}, got '${raw.value}'`);
  }
  return n;
}

function choice<T extends string>(raw: Raw, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(raw.value)) return raw.value as T;
  throw usage(`${raw.label} must be one of ${choices.join(', ')}, got '${raw.value}'`);
}

function identifier(raw: Raw, what: string): string {
  if (ID_PATTERN.test(raw.value)) return raw.value;
  throw usage(`${raw.label}: ${what} '${raw.value}' must be 1-16 of A-Z a-z 0-9 . _ -`);
}

function port(text: string, raw: Raw, entry: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    throw usage(`${raw.label}: entry '${entry}' has port '${text}', which is not from 1 to 65535`);
  }
  return n;
}

/**
 * `ID=HOST:PORT,...`, a bracketed IPv6 host as `[::1]:7000`; `label` names the
 * source in errors.
 */
export function parsePeers(value: string, label = '--peers'): Map<NodeId, PeerAddress> {
  const raw: Raw = { value, label };
  const peers = new Map<NodeId, PeerAddress>();
  const seen = new Map<string, string>();
  const entries = raw.value.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const m = /^([^=]+)=(?:\[([^\]]+)\]|([^:[\]]+)):([^:]+)$/.exec(entry);
    if (m === null) {
      throw usage(`${raw.label}: entry '${entry}' must be ID=HOST:PORT (e.g. n1=10.0.0.1:7000)`);
    }
    const id = m[1] as string;
    if (!ID_PATTERN.test(id))
      throw usage(`${raw.label}: node id '${id}' must be 1-16 of A-Z a-z 0-9 . _ -`);
    if (peers.has(id)) throw usage(`${raw.label}: node id '${id}' appears twice`);
    const host = (m[2] ?? m[3] ?? '').trim();
    const address = { host, port: port(m[4] as string, raw, entry) };
    const key = `${host}:${address.port}`;
    const other = seen.get(key);
    if (other !== undefined)
      throw usage(`${raw.label}: ${other} and ${id} have the same address ${key}`);
    seen.set(key, id);
    peers.set(id, address);
  }
  return peers;
}

function electionTimeout(raw: Raw): { min: number; max: number } {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(raw.value);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (m === null || !(min >= 1) || !(max <= 600_000) || !(min < max)) {
    throw usage(
      `${raw.label} must be MIN-MAX in milliseconds with 1 <= MIN < MAX <= 600000, got '${raw.value}'`,
    );
  }
  return { min, max };
}

export interface ParseNodeConfigOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

/** Reads and checks every setting; throws UsageError (exit 3) with one line naming the culprit. */
export function parseNodeConfig(
  argv: readonly string[],
  options: ParseNodeConfigOptions = {},
): NodeConfig {
  const env = options.env ?? process.env;
  const read = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const { flags, positionals } = parseFlags('node', NODE_FLAGS, argv);
  if (positionals.length > 0) throw usage(`unexpected argument '${positionals[0]}' (see --help)`);

  const fromEnv = (name: string): Raw | undefined => {
    const v = env[envName(name)];
    return v === undefined || v === '' ? undefined : { value: v, label: envName(name) };
  };
  const fromFlag = (name: string): Raw | undefined => {
    const v = (flags as Record<string, string | undefined>)[name];
    return v === undefined ? undefined : { value: v, label: `--${name}` };
  };

  const configRaw = fromFlag('config') ?? fromEnv('config');
  const file =
    configRaw === undefined
      ? new Map<Setting, Raw>()
      : readConfigFile(configRaw.value, configRaw.label, read);
  const get = (name: Setting): Raw | undefined => fromFlag(name) ?? fromEnv(name) ?? file.get(name);
  const required = (name: Setting): Raw => {
    const r = get(name);
    if (r === undefined || r.value.trim() === '') {
      throw usage(
        `--${name} is required (or ${envName(name)} in the environment, or '${name}' in --config)`,
      );
    }
    return r;
  };

  const idRaw = required('id');
  const id = identifier(idRaw, 'node id');
  const peersRaw = required('peers');
  const peers = parsePeers(peersRaw.value, peersRaw.label);
  if (!peers.has(id)) {
    throw usage(
      `${peersRaw.label} must include this node's own entry ${id}=HOST:PORT (--id is ${id})`,
    );
  }
  const data = required('data').value;

  const pick = <T>(name: Setting, parse: (r: Raw) => T, fallback: T): T => {
    const r = get(name);
    return r === undefined ? fallback : parse(r);
  };
  const clientPort = pick('client-port', (r) => wholeNumber(r, 0, 65535), NODE_DEFAULTS.clientPort);
  const bindClient = pick(
    'bind-client',
    (r) => {
      if (r.value.trim() === '' || /\s/.test(r.value))
        throw usage(`${r.label} must be a host name or address, got '${r.value}'`);
      return r.value;
    },
    NODE_DEFAULTS.bindClient,
  );
  const clusterId = pick('cluster-id', (r) => identifier(r, 'cluster id'), NODE_DEFAULTS.clusterId);
  const fsync = pick('fsync', (r) => choice(r, FSYNC_POLICIES), NODE_DEFAULTS.fsync);
  const heartbeatRaw = get('heartbeat-ms');
  const heartbeatMs =
    heartbeatRaw === undefined ? NODE_DEFAULTS.heartbeatMs : wholeNumber(heartbeatRaw, 1, 60_000);
  const timeoutRaw = get('election-timeout-ms');
  const electionTimeoutMs =
    timeoutRaw === undefined ? { ...NODE_DEFAULTS.electionTimeoutMs } : electionTimeout(timeoutRaw);
  if (heartbeatMs >= electionTimeoutMs.min) {
    throw usage(
      `${heartbeatRaw?.label ?? '--heartbeat-ms'} (${heartbeatMs}) must be below the election timeout's minimum (${electionTimeoutMs.min}), or followers time out between heartbeats`,
    );
  }
  const logLength = pick(
    'log-length',
    (r) => wholeNumber(r, 1, 1_000_000_000),
    NODE_DEFAULTS.logLength,
  );
  const maxMessage = pick(
    'max-message',
    (r) => wholeNumber(r, MIN_MAX_MESSAGE, MAX_MAX_MESSAGE),
    NODE_DEFAULTS.maxMessage,
  );
  const chunkRaw = get('chunk-length');
  const chunkLength =
    chunkRaw === undefined ? NODE_DEFAULTS.chunkLength : wholeNumber(chunkRaw, 1, MAX_MAX_MESSAGE);
  if (chunkLength > maxMessage - CHUNK_MESSAGE_RESERVE) {
    throw usage(
      `${chunkRaw?.label ?? '--chunk-length'} (${chunkLength}) must leave ${CHUNK_MESSAGE_RESERVE} bytes of --max-message (${maxMessage}) for the message around it: at most ${maxMessage - CHUNK_MESSAGE_RESERVE}`,
    );
  }
  const unsafe = pick('unsafe', (r) => choice(r, UNSAFE_MODES), NODE_DEFAULTS.unsafe);

  return {
    id,
    peers,
    data,
    clientPort,
    bindClient,
    clusterId,
    fsync,
    heartbeatMs,
    electionTimeoutMs,
    logLength,
    chunkLength,
    maxMessage,
    unsafe,
    configFile: configRaw?.value ?? null,
  };
}
