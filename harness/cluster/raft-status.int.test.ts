import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeValue, resp } from '../../node/kv/resp.js';
import { statusReply } from '../../node/kv/status.js';
import { raftStatus } from './raft-status.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function serve(reply: (() => Buffer) | undefined): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.on('data', () => {
        if (reply) sock.write(reply());
      });
    });
    servers.push(server);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

describe('raftStatus', () => {
  it("reads the node's RAFT.STATUS reply", async () => {
    const port = await serve(() =>
      encodeValue(
        statusReply({
          id: 'n2',
          role: 'leader',
          term: 7,
          leader: 'n2',
          commit: 41,
          applied: 40,
          last: 41,
          snapshot: 0,
        }),
      ),
    );
    expect(await raftStatus('127.0.0.1', port)).toEqual({
      role: 'leader',
      term: 7,
      leader: 'n2',
      commit: 41,
      applied: 40,
    });
  });

  it('has no view of something that is not a node, or does not answer', async () => {
    const wrong = await serve(() => encodeValue(resp.simple('OK')));
    expect(await raftStatus('127.0.0.1', wrong)).toBeUndefined();
    const silent = await serve(undefined);
    expect(await raftStatus('127.0.0.1', silent, 200)).toBeUndefined();
  });
});
