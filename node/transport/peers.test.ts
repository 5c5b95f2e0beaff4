import { describe, expect, it } from 'vitest';
import { PeerAddressBook, type Lookup } from './peers.js';

/** A lookup whose answers the test changes, counting calls. */
function fakeDns(initial: Record<string, string[]>): {
  lookup: Lookup;
  table: Record<string, string[]>;
  calls: string[];
} {
  const table = { ...initial };
  const calls: string[] = [];
  const lookup: Lookup = (host) => {
    calls.push(host);
    const ips = table[host];
    return ips === undefined
      ? Promise.reject(new Error(`ENOTFOUND ${host}`))
      : Promise.resolve(ips);
  };
  return { lookup, table, calls };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('PeerAddressBook', () => {
  it('uses IP literals as they are and looks names up', async () => {
    const dns = fakeDns({ n2: ['10.0.0.2'] });
    const book = new PeerAddressBook({
      peers: new Map([
        ['n2', { host: 'n2', port: 7000 }],
        ['n3', { host: '10.0.0.3', port: 7001 }],
      ]),
      family: 4,
      lookup: dns.lookup,
    });
    expect(book.target('n3')).toEqual({ ip: '10.0.0.3', port: 7001 });
    await book.refreshAll();
    expect(book.target('n2')).toEqual({ ip: '10.0.0.2', port: 7000 });
    expect(dns.calls).toEqual(['n2']);
    expect(book.matches('n2', '10.0.0.2', 7000)).toBe(true);
    expect(book.matches('n2', '10.0.0.2', 7001)).toBe(false);
    expect(book.matches('n9', '10.0.0.2', 7000)).toBe(false);
  });

  it('follows a peer that moved, looking it up again on a mismatch, at most every interval', async () => {
    let now = 0;
    const dns = fakeDns({ n2: ['10.0.0.2'] });
    const book = new PeerAddressBook({
      peers: new Map([['n2', { host: 'n2', port: 7000 }]]),
      family: 4,
      lookup: dns.lookup,
      minLookupIntervalMs: 500,
      now: () => now,
    });
    await book.refreshAll();
    dns.table.n2 = ['10.0.0.9'];
    now = 100;
    expect(book.matches('n2', '10.0.0.9', 7000)).toBe(false); // too soon after the last lookup
    await flush();
    expect(dns.calls).toHaveLength(1);
    now = 700;
    expect(book.matches('n2', '10.0.0.9', 7000)).toBe(false); // triggers a lookup
    await flush();
    expect(dns.calls).toHaveLength(2);
    expect(book.matches('n2', '10.0.0.9', 7000)).toBe(true);
    expect(book.target('n2')).toEqual({ ip: '10.0.0.9', port: 7000 });
  });

  it('keeps the last address when a lookup fails, and has none before the first success', async () => {
    const dns = fakeDns({});
    const book = new PeerAddressBook({
      peers: new Map([['n2', { host: 'n2', port: 7000 }]]),
      family: 4,
      lookup: dns.lookup,
      minLookupIntervalMs: 0,
    });
    await book.refreshAll();
    expect(book.target('n2')).toBeNull(); // and asks again, in vain
    await flush();
    dns.table.n2 = ['10.0.0.2'];
    await book.refreshAll();
    delete dns.table.n2;
    await book.refreshAll();
    expect(book.target('n2')).toEqual({ ip: '10.0.0.2', port: 7000 });
  });

  it('runs one lookup at a time, so a hanging DNS ties up one thread at most', async () => {
    let inFlight = 0;
    let most = 0;
    const lookup: Lookup = async (host) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return [`10.0.0.${host.slice(1)}`];
    };
    const peers = new Map(['n2', 'n3', 'n4', 'n5'].map((id) => [id, { host: id, port: 7000 }]));
    const book = new PeerAddressBook({ peers, family: 4, lookup });
    await book.refreshAll();
    expect(most).toBe(1);
    expect(book.target('n5')).toEqual({ ip: '10.0.0.5', port: 7000 });
  });
});
