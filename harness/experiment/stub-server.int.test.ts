import { describe, expect, it } from 'vitest';
import { RespClient } from '../../node/kv/client.js';
import { startStubServer } from './stub-server.js';

describe('the benchmark stub server', () => {
  it('answers PING, GET, SET and CAS like a node, and refuses other commands', async () => {
    const server = await startStubServer(0);
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
});
