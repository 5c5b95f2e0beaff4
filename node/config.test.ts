import { describe, expect, it } from 'vitest';
import { UsageError } from '../harness/cli/errors.js';
import {
  NODE_DEFAULTS,
  NODE_HELP,
  envName,
  parseNodeConfig,
  parsePeers,
  type NodeConfig,
} from './config.js';

const PEERS = 'n1=10.0.0.1:7000,n2=10.0.0.2:7000,n3=n3:7000';
const base = ['--id', 'n1', '--peers', PEERS, '--data', '/data'];

function parse(
  argv: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
): NodeConfig {
  return parseNodeConfig(argv, {
    env,
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw new Error(`ENOENT: no such file or directory, open '${p}'`);
      return f;
    },
  });
}

function usageLine(
  argv: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
): string {
  try {
    parse(argv, env, files);
  } catch (e) {
    if (e instanceof UsageError) {
      expect(e.message).not.toContain('\n');
      return e.message;
    }
    throw e;
  }
  throw new Error('expected a UsageError');
}

describe('parseNodeConfig', () => {
  it('reads the required flags and fills the defaults', () => {
    const c = parse(base);
    expect(c).toEqual({
      id: 'n1',
      peers: new Map([
        ['n1', { host: '10.0.0.1', port: 7000 }],
        ['n2', { host: '10.0.0.2', port: 7000 }],
        ['n3', { host: 'n3', port: 7000 }],
      ]),
      data: '/data',
      clientPort: 6379,
      bindClient: '0.0.0.0',
      clusterId: 'raftbed',
      fsync: 'always',
      heartbeatMs: 50,
      electionTimeoutMs: { min: 150, max: 300 },
      logLength: NODE_DEFAULTS.logLength,
      chunkLength: NODE_DEFAULTS.chunkLength,
      maxMessage: NODE_DEFAULTS.maxMessage,
      unsafe: 'none',
      configFile: null,
    });
    expect([...c.peers.keys()]).toEqual(['n1', 'n2', 'n3']);
  });

  it('reads every setting from flags', () => {
    const c = parse([
      ...base,
      '--client-port=7379',
      '--bind-client',
      '127.0.0.1',
      '--cluster-id',
      'c-2',
      '--fsync',
      'batch',
      '--heartbeat-ms',
      '20',
      '--election-timeout-ms',
      '100-200',
      '--log-length',
      '500',
      '--chunk-length',
      '4000',
      '--max-message',
      '8000',
      '--unsafe',
      'early-ack',
    ]);
    expect(c).toMatchObject({
      clientPort: 7379,
      bindClient: '127.0.0.1',
      clusterId: 'c-2',
      fsync: 'batch',
      heartbeatMs: 20,
      electionTimeoutMs: { min: 100, max: 200 },
      logLength: 500,
      chunkLength: 4000,
      maxMessage: 8000,
      unsafe: 'early-ack',
    });
  });

  it('works from the environment alone, as a container runs it', () => {
    const c = parse([], {
      RAFTBED_ID: 'n2',
      RAFTBED_PEERS: PEERS,
      RAFTBED_DATA: '/var/lib/raftbed',
      RAFTBED_CLIENT_PORT: '6380',
      RAFTBED_UNSAFE: 'stale-reads',
      RAFTBED_ELECTION_TIMEOUT_MS: '300-600',
      RAFTBED_FSYNC: '', // empty counts as unset
    });
    expect(c).toMatchObject({
      id: 'n2',
      data: '/var/lib/raftbed',
      clientPort: 6380,
      unsafe: 'stale-reads',
      fsync: 'always',
    });
    expect(c.electionTimeoutMs).toEqual({ min: 300, max: 600 });
  });

  it('lets flags win over the environment, and the environment over the file', () => {
    const files = {
      '/etc/node.yml': 'id: n3\nclient-port: 1111\nfsync: never\nheartbeat-ms: 10\n',
    };
    const c = parse(
      ['--config', '/etc/node.yml', '--client-port', '3333', '--peers', PEERS, '--data', '/d'],
      { RAFTBED_CLIENT_PORT: '2222', RAFTBED_FSYNC: 'batch' },
      files,
    );
    expect(c).toMatchObject({
      id: 'n3',
      clientPort: 3333,
      fsync: 'batch',
      heartbeatMs: 10,
      configFile: '/etc/node.yml',
    });
  });

  it('reads a JSON or YAML file with peers as text, a list or a mapping', () => {
    const files = {
      'a.json': JSON.stringify({
        id: 'n1',
        peers: PEERS,
        data: '/d',
        'election-timeout-ms': [200, 400],
      }),
      'b.yml': 'id: n1\ndata: /d\npeers:\n  - n1=10.0.0.1:7000\n  - n2=10.0.0.2:7000\n',
      'c.yml': 'id: n1\ndata: /d\npeers:\n  n1: "[::1]:7000"\n  n2: "[::1]:7001"\n',
    };
    expect(parse(['--config', 'a.json'], {}, files).electionTimeoutMs).toEqual({
      min: 200,
      max: 400,
    });
    expect([...parse(['--config', 'b.yml'], {}, files).peers.keys()]).toEqual(['n1', 'n2']);
    expect(parse([], { RAFTBED_CONFIG: 'c.yml' }, files).peers.get('n2')).toEqual({
      host: '::1',
      port: 7001,
    });
  });

  it.each<[string, string[], Record<string, string>, Record<string, string>]>([
    [
      "raftbed node: --id is required (or RAFTBED_ID in the environment, or 'id' in --config)",
      ['--peers', PEERS, '--data', '/d'],
      {},
      {},
    ],
    ['raftbed node: --data is required', ['--id', 'n1', '--peers', PEERS], {}, {}],
    [
      "raftbed node: --id: node id 'n 1' must be 1-16 of A-Z a-z 0-9 . _ -",
      ['--id', 'n 1', '--peers', PEERS, '--data', '/d'],
      {},
      {},
    ],
    [
      "raftbed node: --peers must include this node's own entry n9=HOST:PORT (--id is n9)",
      ['--id', 'n9', '--peers', PEERS, '--data', '/d'],
      {},
      {},
    ],
    [
      "raftbed node: RAFTBED_PEERS: entry 'n2=nohost' must be ID=HOST:PORT",
      ['--id', 'n1', '--data', '/d'],
      { RAFTBED_PEERS: 'n1=a:1,n2=nohost' },
      {},
    ],
    [
      "raftbed node: --peers: entry 'n2=b:70000' has port '70000', which is not from 1 to 65535",
      ['--id', 'n1', '--data', '/d', '--peers', 'n1=a:1,n2=b:70000'],
      {},
      {},
    ],
    [
      "raftbed node: --peers: node id 'n1' appears twice",
      ['--id', 'n1', '--data', '/d', '--peers', 'n1=a:1,n1=b:2'],
      {},
      {},
    ],
    [
      'raftbed node: --peers: n1 and n2 have the same address a:1',
      ['--id', 'n1', '--data', '/d', '--peers', 'n1=a:1,n2=a:1'],
      {},
      {},
    ],
    [
      "raftbed node: --client-port must be a whole number from 0 to 65535, got '65536'",
      [...base, '--client-port', '65536'],
      {},
      {},
    ],
    [
      "raftbed node: RAFTBED_CLIENT_PORT must be a whole number from 0 to 65535, got 'x'",
      base,
      { RAFTBED_CLIENT_PORT: 'x' },
      {},
    ],
    [
      "raftbed node: --fsync must be one of always, batch, never, got 'sometimes'",
      [...base, '--fsync', 'sometimes'],
      {},
      {},
    ],
    [
      "raftbed node: --unsafe must be one of none, stale-reads, lazy-wal, early-ack, got 'yes'",
      [...base, '--unsafe', 'yes'],
      {},
      {},
    ],
    [
      "raftbed node: --election-timeout-ms must be MIN-MAX in milliseconds with 1 <= MIN < MAX <= 600000, got '300-150'",
      [...base, '--election-timeout-ms', '300-150'],
      {},
      {},
    ],
    [
      "raftbed node: --heartbeat-ms (150) must be below the election timeout's minimum (150)",
      [...base, '--heartbeat-ms', '150'],
      {},
      {},
    ],
    [
      "raftbed node: --max-message must be a whole number from 1200 to 65448, got '1000'",
      [...base, '--max-message', '1000'],
      {},
      {},
    ],
    [
      'raftbed node: --chunk-length (1300) must leave 128 bytes of --max-message (1280)',
      [...base, '--chunk-length', '1300'],
      {},
      {},
    ],
    [
      "raftbed node: --cluster-id: cluster id 'a/b' must be 1-16",
      [...base, '--cluster-id', 'a/b'],
      {},
      {},
    ],
    ["raftbed node: unexpected argument 'extra'", [...base, 'extra'], {}, {}],
    ["raftbed node: unknown option '--bogus'", [...base, '--bogus', '1'], {}, {}],
    [
      'raftbed node: --config: cannot read missing.yml: ENOENT',
      ['--config', 'missing.yml'],
      {},
      {},
    ],
    [
      "raftbed node: bad.yml: unknown setting 'client_port'",
      ['--config', 'bad.yml'],
      {},
      { 'bad.yml': 'client_port: 1\n' },
    ],
    [
      'raftbed node: list.yml: must be a mapping of settings',
      ['--config', 'list.yml'],
      {},
      { 'list.yml': '- a\n- b\n' },
    ],
    [
      'raftbed node: broken.json: not valid JSON or YAML',
      ['--config', 'broken.json'],
      {},
      { 'broken.json': '{"id": "n1",,}' },
    ],
    [
      "raftbed node: f.yml: client-port must be a whole number from 0 to 65535, got 'high'",
      [...base, '--config', 'f.yml'],
      {},
      { 'f.yml': 'client-port: high\n' },
    ],
    [
      'raftbed node: f.yml: data must be a single value',
      [...base.slice(0, 4), '--config', 'f.yml'],
      {},
      { 'f.yml': 'data: [a, b]\n' },
    ],
  ])('refuses with one line: %s', (expected, argv, env, files) => {
    expect(usageLine(argv, env, files)).toContain(expected);
  });

  it('names every setting in the help, with its environment variable rule', () => {
    for (const flag of [
      '--id',
      '--peers',
      '--data',
      '--client-port',
      '--bind-client',
      '--cluster-id',
      '--fsync',
      '--heartbeat-ms',
      '--election-timeout-ms',
      '--log-length',
      '--chunk-length',
      '--max-message',
      '--unsafe',
      '--config',
    ]) {
      expect(NODE_HELP).toContain(flag);
    }
    expect(envName('election-timeout-ms')).toBe('RAFTBED_ELECTION_TIMEOUT_MS');
  });
});

describe('parsePeers', () => {
  it('reads hosts, IPv4 and bracketed IPv6 addresses, trimming spaces', () => {
    expect(parsePeers('a=host-1:1, b=127.0.0.1:2 ,c=[fe80::1]:3')).toEqual(
      new Map([
        ['a', { host: 'host-1', port: 1 }],
        ['b', { host: '127.0.0.1', port: 2 }],
        ['c', { host: 'fe80::1', port: 3 }],
      ]),
    );
  });

  it('refuses an unbracketed IPv6 address and an empty entry', () => {
    expect(() => parsePeers('a=::1:7000')).toThrow(/must be ID=HOST:PORT/);
    expect(() => parsePeers('a=h:1,,b=h:2')).toThrow(/entry '' must be ID=HOST:PORT/);
  });
});
