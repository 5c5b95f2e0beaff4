/**
 * An in-memory stand-in for a node: a RESP key-value server (GET, SET, CAS,
 * PING, RAFT.STATUS) with no Raft behind it. The workload benchmark drives it
 * and redis-benchmark alike, so the ratio of the two is the harness's own cost
 * per operation; in containers it lets the runner and the Docker backend be
 * tested without a cluster that replicates. Only the node named as leader
 * serves data; the others answer -TRYAGAIN, so a history through it stays
 * linearizable as long as the leader is not killed.
 *
 *   node dist/harness/experiment/stub-server.js PORT [ID LEADER]   (prints "listening PORT")
 */
import { resp, type RespValue } from '../../node/kv/resp.js';
import { RespServer } from '../../node/kv/server.js';

export interface StubOptions {
  readonly port: number;
  readonly host?: string;
  /** This stand-in's node name and the one that serves data (both default 'n1'). */
  readonly id?: string;
  readonly leader?: string;
}

export async function startStubServer(options: StubOptions): Promise<RespServer> {
  const id = options.id ?? 'n1';
  const leader = options.leader ?? id;
  const store = new Map<string, string>();
  let commit = 0;
  const boot = `${process.pid}-${Date.now()}`;
  const log = (event: Record<string, unknown>): void =>
    void process.stdout.write(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'info',
        node: id,
        boot,
        term: 1,
        ...event,
      }) + '\n',
    );
  if (options.id !== undefined)
    log({ event: 'role', role: id === leader ? 'leader' : 'follower', leader });
  const status = (): RespValue =>
    resp.array(
      [
        ['id', id],
        ['role', id === leader ? 'leader' : 'follower'],
        ['term', '1'],
        ['leader', leader],
        ['commit', String(commit)],
        ['applied', String(commit)],
        ['last', String(commit)],
        ['snapshot', '0'],
      ]
        .flat()
        .map((s) => resp.bulk(s)),
    );
  return RespServer.listen({
    host: options.host ?? '127.0.0.1',
    port: options.port,
    handler: (argv): RespValue => {
      const [cmd = '', key = '', a = '', b = ''] = argv.map((x) => x.toString());
      const name = cmd.toUpperCase();
      if (name === 'PING') return resp.simple('PONG');
      if (name === 'RAFT.STATUS') return status();
      if (!['GET', 'SET', 'CAS'].includes(name)) {
        // redis-benchmark asks for CONFIG first and carries on without it.
        return resp.error(`ERR unknown command '${cmd}'`);
      }
      if (id !== leader) return resp.error(`TRYAGAIN ${id} does not serve data`);
      if (name === 'GET') return resp.bulk(store.get(key) ?? null);
      commit++;
      if (name === 'SET') {
        store.set(key, a);
        return resp.simple('OK');
      }
      if (store.get(key) !== a) return resp.integer(0);
      store.set(key, b);
      return resp.integer(1);
    },
  });
}

if (process.argv[1]?.endsWith('stub-server.js') === true) {
  const [port = '0', id, leader] = process.argv.slice(2);
  const server = await startStubServer({
    port: Number(port),
    host: id === undefined ? '127.0.0.1' : '0.0.0.0',
    ...(id === undefined ? {} : { id }),
    ...(leader === undefined ? {} : { leader }),
  });
  process.stdout.write(id === undefined ? `listening ${server.address.port}\n` : '');
  process.on('SIGTERM', () => void server.close(100).then(() => process.exit(0)));
}
