import { describe, expect, it } from 'vitest';
import { RespClient } from '../../node/kv/client.js';
import { startStubServer } from './stub-server.js';

describe('the benchmark stub server', () => {
  it('answers PING, GET, SET and CAS like a node, and refuses other commands', async () => {
    const server = await startStubServer({ port: 0 });
    const c = await RespClient.connect({ host: '127.0.0.1', port: server.address.port });
    try {
      expect(await c.call(['PING'])).toEqual({ type: 'simple', value: 'PONG' });
      expect(await c.call(['GET', 'k'])).toEqual({ type: 'bulk', value: null });
      expect(await c.call(['SET', 'k', '1'])).toEqual({ type: 'simple', value: 'OK' });
      expect(await c.call(['CAS', 'k', '2', '3'])).toEqual({ type: 'integer', value: 0 });
      expect(await c.call(['CAS', 'k', '1', '3'])).toEqual({ type: 'integer', value: 1 });
      const got = await c.call(['GET', 'k']);
      expect(got.type === 'bulk' && Buffer.from(got.value ?? []).toString()).toBe('3');
      await expect(c.call(['CONFIG', 'GET', 'save'])).rejects.toMatchObject({ code: 'ERR' });
    } finally {
      c.close();
      await server.close(100);
    }
  });

  it('as a follower stand-in reports its leader and refuses data commands', async () => {
    const server = await startStubServer({ port: 0, id: 'n2', leader: 'n1' });
    const c = await RespClient.connect({ host: '127.0.0.1', port: server.address.port });
    try {
      const status = await c.call(['RAFT.STATUS']);
      const fields =
        status.type === 'array'
          ? (status.value ?? []).map((v) =>
              v.type === 'bulk' ? Buffer.from(v.value ?? []).toString() : '',
            )
          : [];
      expect(fields.slice(0, 8)).toEqual([
        'id',
        'n2',
        'role',
        'follower',
        'term',
        '1',
        'leader',
        'n1',
      ]);
      await expect(c.call(['SET', 'k', '1'])).rejects.toMatchObject({ code: 'TRYAGAIN' });
    } finally {
      c.close();
      await server.close(100);
    }
  });
});
