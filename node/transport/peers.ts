/**
 * Where each peer's Raft socket is. `--peers` may name hosts (container names in
 * Docker) whose addresses change when a container restarts, so names are looked
 * up again on a timer and when a datagram or a send suggests the entry is stale.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { NodeId } from '../raft/types.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export type AddressFamily = 4 | 6;

/** Resolves a host name to its addresses of one family; rejects when it cannot. */
export type Lookup = (host: string, family: AddressFamily) => Promise<string[]>;

export const systemLookup: Lookup = async (host, family) => {
  const found = await dnsLookup(host, { all: true, family });
  return found.map((a) => a.address);
};

interface PeerState {
  readonly address: PeerAddress;
  /** Resolved addresses, the first used for sending; empty until resolved. */
  ips: string[];
  lastLookup: number;
  pending: boolean;
}

export interface PeerAddressBookOptions {
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly family: AddressFamily;
  readonly lookup?: Lookup;
  /** Fewest milliseconds between two on-demand lookups of one peer. */
  readonly minLookupIntervalMs?: number;
  readonly now?: () => number;
}

export class PeerAddressBook {
  private readonly peers = new Map<NodeId, PeerState>();
  private readonly lookup: Lookup;
  private readonly family: AddressFamily;
  private readonly minInterval: number;
  private readonly now: () => number;
  private closed = false;
  /**
   * Lookups run one at a time: getaddrinfo blocks a thread of libuv's pool,
   * which fs and fsync share, and a DNS server cut off by a partition can make
   * every lookup hang for seconds.
   */
  private chain: Promise<void> = Promise.resolve();

  constructor(options: PeerAddressBookOptions) {
    this.lookup = options.lookup ?? systemLookup;
    this.family = options.family;
    this.minInterval = options.minLookupIntervalMs ?? 500;
    this.now = options.now ?? Date.now;
    for (const [id, address] of options.peers) {
      const literal = isIP(address.host) !== 0;
      this.peers.set(id, {
        address,
        ips: literal ? [address.host] : [],
        lastLookup: -Infinity,
        pending: false,
      });
    }
  }

  has(id: NodeId): boolean {
    return this.peers.has(id);
  }

  /** Where to send to `id`, or null while its name has not resolved. */
  target(id: NodeId): { ip: string; port: number } | null {
    const p = this.peers.get(id);
    const ip = p?.ips[0];
    if (p === undefined || ip === undefined) {
      if (p !== undefined) this.refresh(id);
      return null;
    }
    return { ip, port: p.address.port };
  }

  /** Whether a datagram from ip:port may come from `id`; a miss schedules a fresh lookup. */
  matches(id: NodeId, ip: string, port: number): boolean {
    const p = this.peers.get(id);
    if (p === undefined) return false;
    if (p.address.port === port && p.ips.includes(ip)) return true;
    this.refresh(id);
    return false;
  }

  /** Looks up every named peer again (the transport calls this on a timer). */
  refreshAll(): Promise<void> {
    return Promise.all([...this.peers.keys()].map((id) => this.resolve(id))).then(() => undefined);
  }

  close(): void {
    this.closed = true;
  }

  private refresh(id: NodeId): void {
    const p = this.peers.get(id);
    if (p === undefined || p.pending || this.now() - p.lastLookup < this.minInterval) return;
    void this.resolve(id);
  }

  private resolve(id: NodeId): Promise<void> {
    const p = this.peers.get(id);
    if (p === undefined || p.pending || isIP(p.address.host) !== 0) return Promise.resolve();
    p.pending = true;
    p.lastLookup = this.now();
    const run = async (): Promise<void> => {
      if (this.closed) return;
      try {
        const ips = await this.lookup(p.address.host, this.family);
        // A failed lookup keeps the last known addresses: a DNS hiccup must not cut a peer off.
        if (!this.closed && ips.length > 0) p.ips = ips;
      } catch {
        // Counted by the transport when a send finds no address.
      } finally {
        p.pending = false;
        p.lastLookup = this.now();
      }
    };
    this.chain = this.chain.then(run);
    return this.chain;
  }
}
