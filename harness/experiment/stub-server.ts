/**
 * An in-memory RESP key-value server (GET, SET, CAS, PING) with no Raft behind
 * it: the workload benchmark drives it and redis-benchmark alike, so the ratio
 * of the two is the harness's own cost per operation.
 *
 *   node dist/harness/experiment/stub-server.js PORT   (prints "listening PORT")
 */
import { resp, type RespValue } from '../../node/kv/resp.js';
import { RespServer } from '../../node/kv/server.js';

export async function startStubServer(port: number): Promise<RespServer> {
  const store = new Map<string, string>();
  return RespServer.listen({
    host: '127.0.0.1',
    port,
    handler: (argv): RespValue => {
      const [cmd = '', key = '', a = '', b = ''] = argv.map((x) => x.toString());
      switch (cmd.toUpperCase()) {
        case 'PING':
          return resp.simple('PONG');
        case 'GET':
          return resp.bulk(store.get(key) ?? null);
        case 'SET':
          store.set(key, a);
          return resp.simple('OK');
        case 'CAS':
          if (store.get(key) !== a) return resp.integer(0);
          store.set(key, b);
          return resp.integer(1);
        default:
          // redis-benchmark asks for CONFIG first and carries on without it.
          return resp.error(`ERR unknown command '${cmd}'`);
      }
    },
  });
}

if (process.argv[1]?.endsWith('stub-server.js') === true) {
  const server = await startStubServer(Number(process.argv[2] ?? 0));
  process.stdout.write(`listening ${server.address.port}\n`);
  process.on('SIGTERM', () => void server.close(100).then(() => process.exit(0)));
}
