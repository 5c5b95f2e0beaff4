import { createSocket, type Socket } from 'node:dgram';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST, freeUdpPorts } from '../server/local-cluster.js';
import { Prng } from '../util/prng.js';
import { encodeDatagram, type PayloadKind } from './header.js';
import type { Lookup, PeerAddress } from './peers.js';
import { DROP_REASONS, TransportBindError, UdpTransport, type Incoming } from './udp.js';

const MAX_PAYLOAD = 1400;

const noDns: Lookup = (host) => Promise.reject(new Error(`ENOTFOUND ${host}`));

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('UdpTransport on 127.0.0.1', () => {
  let peers: Map<string, PeerAddress>;
  let t1: UdpTransport;
  let t2: UdpTransport;
  let raw: Socket;
  const got1: { kind: PayloadKind; from: string; payload: string }[] = [];
  const got2: Incoming[] = [];
  const handlerErrors: unknown[] = [];

  beforeAll(async () => {
    const [p1, p2, p3] = await freeUdpPorts(3);
    peers = new Map([
      ['n1', { host: HOST, port: p1! }],
      ['n2', { host: HOST, port: p2! }],
      ['n3', { host: HOST, port: p3! }], // a member that is down
      ['n4', { host: 'nowhere', port: 7000 }], // a member whose name does not resolve
    ]);
    const common = { clusterId: 'test', peers, maxPayloadBytes: MAX_PAYLOAD, lookup: noDns };
    t1 = await UdpTransport.open({
      ...common,
      self: 'n1',
      onReceive: (m) => {
        const text = m.payload.toString('latin1');
        if (text === 'boom') throw new Error('handler failure');
        got1.push({ kind: m.kind, from: m.from, payload: text });
      },
      onHandlerError: (e) => handlerErrors.push(e),
    });
    t2 = await UdpTransport.open({
      ...common,
      self: 'n2',
      onReceive: (m) => got2.push({ ...m, payload: Buffer.from(m.payload) }),
    });
    raw = createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, HOST, () => r()));
  });

  afterAll(async () => {
    await t1?.close();
    await t2?.close();
    raw?.close();
  });

  it('carries each payload kind between two peers, with the sender named', async () => {
    t2.send('n1', 'raft', Buffer.from('r'));
    t2.send('n1', 'forward', Buffer.from('f'));
    t2.send('n1', 'forward-reply', Buffer.alloc(MAX_PAYLOAD, 0x61));
    t1.send('n2', 'raft', Buffer.from('back'));
    await until(() => got1.length === 3 && got2.length === 1, 'delivery');
    expect(got1.map((g) => [g.kind, g.from, g.payload.length])).toEqual([
      ['raft', 'n2', 1],
      ['forward', 'n2', 1],
      ['forward-reply', 'n2', MAX_PAYLOAD],
    ]);
    expect(got2[0]?.payload.toString()).toBe('back');
    expect(t1.counters.received).toEqual({ raft: 1, forward: 1, 'forward-reply': 1 });
    expect(t2.counters.sent).toEqual({ raft: 1, forward: 1, 'forward-reply': 1 });
  });

  it('counts sends that cannot go out instead of throwing', () => {
    const before = { ...t1.counters.sendFailed };
    expect(t1.send('n9', 'raft', Buffer.from('x'))).toBe(false);
    expect(t1.send('n1', 'raft', Buffer.from('x'))).toBe(false); // itself
    expect(t1.send('n2', 'raft', Buffer.alloc(MAX_PAYLOAD + 1))).toBe(false);
    expect(t1.send('n4', 'raft', Buffer.from('x'))).toBe(false);
    expect(t1.send('n3', 'raft', Buffer.from('x'))).toBe(true); // down, but UDP cannot know
    expect(t1.counters.sendFailed).toEqual({
      ...before,
      'unknown-peer': before['unknown-peer'] + 2,
      oversized: before.oversized + 1,
      unresolved: before.unresolved + 1,
    });
  });

  it('refuses to bind an address already in use, naming it', async () => {
    const openN1Again = (): Promise<UdpTransport> =>
      UdpTransport.open({
        clusterId: 'test',
        self: 'n1',
        peers,
        maxPayloadBytes: MAX_PAYLOAD,
        onReceive: () => {},
      });
    await expect(openN1Again()).rejects.toThrow(TransportBindError);
    await expect(openN1Again()).rejects.toThrow(
      `n1's Raft address ${HOST}:${peers.get('n1')?.port}`,
    );
  });

  it('survives a handler that throws', async () => {
    const before = got1.length;
    t2.send('n1', 'raft', Buffer.from('boom'));
    t2.send('n1', 'raft', Buffer.from('after'));
    await until(() => got1.length === before + 1, 'the message after the failure');
    expect(t1.counters.handlerErrors).toBe(1);
    expect(handlerErrors).toHaveLength(1);
  });

  it('drops and counts 100,000 random and mutated datagrams, then still carries valid traffic', async () => {
    const prng = new Prng(20240601);
    const n1 = peers.get('n1')!;
    const valid = (
      h: Partial<{ kind: PayloadKind; clusterId: string; from: string; to: string }>,
      len: number,
    ): Buffer =>
      encodeDatagram(
        { kind: 'raft', clusterId: 'test', from: 'n2', to: 'n1', ...h },
        Buffer.alloc(len, 7),
      );
    const resign = (b: Buffer): Buffer => {
      if (b.length >= 8) b.writeUInt32BE(crc32(b.subarray(8)), 4);
      return b;
    };
    const randomBytes = (len: number): Buffer =>
      Buffer.from(Array.from({ length: len }, () => prng.int(0, 255)));
    const expected = {
      'other-cluster': 0,
      'wrong-destination': 0,
      'unknown-sender': 0,
      'address-mismatch': 0,
      oversized: 0,
    };

    const generate = (): Buffer => {
      switch (prng.int(0, 9)) {
        case 0:
          return randomBytes(prng.int(0, 1500));
        case 1:
          return randomBytes(prng.int(0, 12));
        case 2: {
          // A valid datagram with bytes flipped, checksum left stale.
          const b = valid({}, prng.int(0, 200));
          for (let i = prng.int(1, 4); i > 0; i--) b[prng.int(0, b.length - 1)] = prng.int(0, 255);
          return b;
        }
        case 3: {
          // Flipped, then re-signed, so the deeper checks see it.
          const b = valid(
            { kind: prng.pick(['raft', 'forward', 'forward-reply'] as const) },
            prng.int(0, 200),
          );
          for (let i = prng.int(1, 3); i > 0; i--)
            b[prng.int(0, Math.min(b.length - 1, 24))] = prng.int(0, 255);
          return resign(b);
        }
        case 4: {
          const b = valid({}, prng.int(0, 100));
          return b.subarray(0, prng.int(0, b.length - 1)); // truncated
        }
        case 5:
          expected['other-cluster']++;
          return valid({ clusterId: 'other' }, 10);
        case 6:
          expected['wrong-destination']++;
          return valid({ to: prng.pick(['n2', 'n3', 'zz']) }, 10);
        case 7:
          expected['unknown-sender']++;
          return valid({ from: prng.pick(['n1', 'n9', 'intruder']) }, 10);
        case 8:
          // Claims to be n2 but comes from another port.
          expected['address-mismatch']++;
          return valid({}, prng.int(0, 50));
        default:
          expected.oversized++;
          return valid({}, MAX_PAYLOAD + prng.int(1, 2000));
      }
    };

    const total = 100_000;
    const receivedBefore = got1.length;
    const handledBefore = (): number => t1.droppedTotal();
    const dropped0 = handledBefore();
    const batch = 500;
    for (let sent = 0; sent < total; sent += batch) {
      await Promise.all(
        Array.from(
          { length: batch },
          () =>
            new Promise<void>((resolve, reject) =>
              raw.send(generate(), n1.port, HOST, (e) => (e ? reject(e) : resolve())),
            ),
        ),
      );
      // Valid traffic keeps flowing in between.
      t2.send('n1', 'raft', Buffer.from(`valid ${sent}`));
      await until(
        () => handledBefore() - dropped0 >= sent + batch,
        `the batch ending at ${sent + batch}`,
      );
    }

    const dropped = t1.counters.dropped;
    expect(t1.droppedTotal() - dropped0).toBe(total);
    for (const [reason, count] of Object.entries(expected)) {
      expect(dropped[reason as keyof typeof dropped], reason).toBeGreaterThanOrEqual(count);
    }
    for (const reason of DROP_REASONS) expect(dropped[reason], reason).toBeGreaterThan(0);

    await until(
      () => got1.length === receivedBefore + total / batch,
      'the valid traffic sent alongside',
    );
    const validSeen = got1.slice(receivedBefore).map((g) => g.payload);
    expect(validSeen).toEqual(
      Array.from({ length: total / batch }, (_, i) => `valid ${i * batch}`),
    );

    // Both ways, after the storm.
    const got2Before = got2.length;
    for (let i = 0; i < 100; i++) {
      t1.send('n2', 'raft', Buffer.from(`ping ${i}`));
      t2.send('n1', 'forward', Buffer.from(`pong ${i}`));
    }
    await until(
      () =>
        got2.length === got2Before + 100 && got1.length === receivedBefore + total / batch + 100,
      'traffic after',
    );
    const c = t1.counters;
    // Every accepted datagram reached the handler once; the one that threw is counted as received too.
    expect(c.received.raft + c.received.forward + c.received['forward-reply']).toBe(
      got1.length + handlerErrors.length,
    );
    expect(c.received.raft + c.received.forward + c.received['forward-reply']).toBe(
      t2.counters.sent.raft + t2.counters.sent.forward + t2.counters.sent['forward-reply'],
    );
  });
});
