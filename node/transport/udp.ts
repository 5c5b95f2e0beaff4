/**
 * Raft traffic over UDP, as libraft does it: one socket bound to the node's own
 * `--peers` address, one datagram per message, a small checked header (see
 * header.ts). Whatever arrives that is not a well-formed datagram from a known
 * peer of this cluster, addressed to this node, is dropped and counted; sends
 * that cannot go out are counted too. Nothing here throws at the caller or lets
 * a datagram crash the process.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { NodeId } from '../raft/types.js';
import {
  MAX_HEADER_BYTES,
  PAYLOAD_KINDS,
  decodeDatagram,
  encodeDatagram,
  isValidId,
  type PayloadKind,
} from './header.js';
import {
  PeerAddressBook,
  systemLookup,
  type AddressFamily,
  type Lookup,
  type PeerAddress,
} from './peers.js';

export type DropReason =
  | 'oversized'
  | 'truncated'
  | 'malformed'
  | 'version'
  | 'checksum'
  | 'other-cluster'
  | 'wrong-destination'
  | 'unknown-sender'
  | 'address-mismatch';

export const DROP_REASONS: readonly DropReason[] = [
  'oversized',
  'truncated',
  'malformed',
  'version',
  'checksum',
  'other-cluster',
  'wrong-destination',
  'unknown-sender',
  'address-mismatch',
];

export type SendFailure = 'unknown-peer' | 'oversized' | 'unresolved' | 'error' | 'closed';

export const SEND_FAILURES: readonly SendFailure[] = [
  'unknown-peer',
  'oversized',
  'unresolved',
  'error',
  'closed',
];

export interface TransportCounters {
  /** Datagrams handed to onReceive, by kind. */
  readonly received: Record<PayloadKind, number>;
  /** Datagrams handed to the socket, by kind. */
  readonly sent: Record<PayloadKind, number>;
  readonly dropped: Record<DropReason, number>;
  readonly sendFailed: Record<SendFailure, number>;
  /** onReceive threw; the datagram counts as received. */
  handlerErrors: number;
  /** Errors the socket itself reported. */
  socketErrors: number;
  bytesIn: number;
  bytesOut: number;
}

export interface Incoming {
  readonly kind: PayloadKind;
  readonly from: NodeId;
  /** Valid only during the callback: copy what is kept. */
  readonly payload: Buffer;
}

export interface UdpTransportOptions {
  readonly clusterId: string;
  readonly self: NodeId;
  /** Every member, this node included: its own entry is the address bound. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** Largest payload sent or accepted (`--max-message`); the header comes on top. */
  readonly maxPayloadBytes: number;
  readonly onReceive: (message: Incoming) => void;
  /** Called with the error when onReceive throws, for the node's log. */
  readonly onHandlerError?: (error: unknown, message: Incoming) => void;
  /** Bind here instead of the own entry's host (e.g. 0.0.0.0); the port stays. */
  readonly bindHost?: string;
  /** Milliseconds between lookups of peer host names. Default 2000. */
  readonly resolveIntervalMs?: number;
  readonly lookup?: Lookup;
  /** Socket buffer sizes asked of the kernel (it may grant less). Default 4 MiB. */
  readonly socketBufferBytes?: number;
}

/** Raised by UdpTransport.open when the node cannot bind its own address. */
export class TransportBindError extends Error {
  override readonly name = 'TransportBindError';
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

function newCounters(): TransportCounters {
  return {
    received: zeroes(PAYLOAD_KINDS),
    sent: zeroes(PAYLOAD_KINDS),
    dropped: zeroes(DROP_REASONS),
    sendFailed: zeroes(SEND_FAILURES),
    handlerErrors: 0,
    socketErrors: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
}

/** Datagrams dropped on receipt, over all reasons. */
export function droppedTotal(counters: TransportCounters): number {
  return DROP_REASONS.reduce((sum, r) => sum + counters.dropped[r], 0);
}

export class UdpTransport {
  readonly counters: TransportCounters = newCounters();
  private readonly book: PeerAddressBook;
  private readonly maxDatagram: number;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly options: UdpTransportOptions,
    private readonly socket: Socket,
    family: AddressFamily,
  ) {
    const others = new Map([...options.peers].filter(([id]) => id !== options.self));
    this.book = new PeerAddressBook({
      peers: others,
      family,
      lookup: options.lookup ?? systemLookup,
    });
    this.maxDatagram = MAX_HEADER_BYTES + options.maxPayloadBytes;
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    socket.on('error', () => {
      this.counters.socketErrors++;
    });
  }

  /**
   * Binds the node's own address and starts looking up its peers. Rejects with a
   * TransportBindError naming the address when the socket cannot be bound.
   */
  static async open(options: UdpTransportOptions): Promise<UdpTransport> {
    for (const id of [options.clusterId, options.self, ...options.peers.keys()]) {
      if (!isValidId(id)) throw new RangeError(`invalid id '${id}': 1-16 of A-Z a-z 0-9 . _ -`);
    }
    const own = options.peers.get(options.self);
    if (own === undefined) throw new RangeError(`node ${options.self} is not in its own peers`);
    const lookup = options.lookup ?? systemLookup;
    const host = options.bindHost ?? own.host;
    let ip = host;
    if (isIP(host) === 0) {
      ip = '';
      for (const family of [4, 6] as const) {
        try {
          ip = (await lookup(host, family))[0] ?? '';
        } catch {
          // Try the other family, then give up below.
        }
        if (ip !== '') break;
      }
      if (ip === '') {
        throw new TransportBindError(
          `cannot bind ${options.self}'s Raft address ${host}:${own.port}: host does not resolve`,
        );
      }
    }
    const family: AddressFamily = isIP(ip) === 6 ? 6 : 4;
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(
          new TransportBindError(
            `cannot bind ${options.self}'s Raft address ${ip}:${own.port}: ${err.message}`,
          ),
        );
      };
      socket.once('error', onError);
      socket.bind({ address: ip, port: own.port, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const bufferBytes = options.socketBufferBytes ?? 4 * 1024 * 1024;
    try {
      socket.setRecvBufferSize(bufferBytes);
      socket.setSendBufferSize(bufferBytes);
    } catch {
      // The kernel's limit (net.core.rmem_max) wins; the default still works.
    }
    const transport = new UdpTransport(options, socket, family);
    // Not awaited: start at once; a send before a name resolves is counted as unresolved.
    void transport.book.refreshAll();
    transport.timer = setInterval(
      () => void transport.book.refreshAll(),
      options.resolveIntervalMs ?? 2000,
    );
    transport.timer.unref();
    return transport;
  }

  /** The address actually bound. */
  get address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /**
   * Sends one datagram. Failures are counted in `counters.sendFailed`, never
   * thrown. Returns false when the datagram certainly did not leave (unknown
   * peer, too large, no address yet, closed); true means handed to the socket,
   * which for UDP promises nothing more.
   */
  send(to: NodeId, kind: PayloadKind, payload: Uint8Array): boolean {
    const c = this.counters;
    if (this.closed) {
      c.sendFailed.closed++;
      return false;
    }
    if (to === this.options.self || !this.book.has(to)) {
      c.sendFailed['unknown-peer']++;
      return false;
    }
    if (payload.length > this.options.maxPayloadBytes) {
      c.sendFailed.oversized++;
      return false;
    }
    const target = this.book.target(to);
    if (target === null) {
      c.sendFailed.unresolved++;
      return false;
    }
    const datagram = encodeDatagram(
      { kind, clusterId: this.options.clusterId, from: this.options.self, to },
      payload,
    );
    try {
      this.socket.send(datagram, target.port, target.ip, (err) => {
        if (err) c.sendFailed.error++;
      });
      c.sent[kind]++;
      c.bytesOut += datagram.length;
      return true;
    } catch {
      c.sendFailed.error++;
      return false;
    }
  }

  /** Total datagrams dropped on receipt, over all reasons. */
  droppedTotal(): number {
    return droppedTotal(this.counters);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.book.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private drop(reason: DropReason): void {
    this.counters.dropped[reason]++;
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    this.counters.bytesIn += msg.length;
    if (msg.length > this.maxDatagram) return this.drop('oversized');
    const d = decodeDatagram(msg);
    if (typeof d === 'string') return this.drop(d);
    if (d.payload.length > this.options.maxPayloadBytes) return this.drop('oversized');
    if (d.clusterId !== this.options.clusterId) return this.drop('other-cluster');
    if (d.to !== this.options.self) return this.drop('wrong-destination');
    if (d.from === this.options.self || !this.book.has(d.from)) return this.drop('unknown-sender');
    if (!this.book.matches(d.from, rinfo.address, rinfo.port)) return this.drop('address-mismatch');
    this.counters.received[d.kind]++;
    const message: Incoming = { kind: d.kind, from: d.from, payload: d.payload };
    try {
      this.options.onReceive(message);
    } catch (err) {
      this.counters.handlerErrors++;
      try {
        this.options.onHandlerError?.(err, message);
      } catch {
        // A failing error hook must not undo the guarantee above.
      }
    }
  }
}
