/**
 * A follower forwards a client's command to the leader in one datagram and
 * relays the leader's reply. The forwarded bytes are exactly the proposal the
 * leader will append (session included), so exactly-once holds across
 * forwarding: a retry through another node carries the same session and seq.
 *
 * Both messages fit one datagram by construction: MAX_FORWARD_REQUEST_BYTES and
 * MAX_FORWARD_REPLY_BYTES plus the transport header stay within
 * FORWARD_DATAGRAM_BUDGET (checked by the tests and the transport's own bound).
 */
import { randomInt } from 'node:crypto';
import { ByteReader, ByteWriter, DecodeError, uvarintSize } from '../util/bytes.js';
import {
  MAX_COMMAND_BYTES,
  MAX_COMMAND_REPLY_BYTES,
  decodeProposal,
  readReply,
  writeReply,
  type Proposal,
} from './commands.js';
import type { NodeId } from '../raft/types.js';
import { resp, type RespValue } from './resp.js';

/** The whole datagram (transport header included) a forwarded message may take. */
export const FORWARD_DATAGRAM_BUDGET = 1200;

const FORWARD_VERSION = 1;
const MAX_ID_BYTES = uvarintSize(Number.MAX_SAFE_INTEGER);

export const MAX_FORWARD_REQUEST_BYTES =
  1 + MAX_ID_BYTES + uvarintSize(MAX_COMMAND_BYTES) + MAX_COMMAND_BYTES;
export const MAX_FORWARD_REPLY_BYTES = 1 + MAX_ID_BYTES + MAX_COMMAND_REPLY_BYTES;

export interface ForwardRequest {
  /** Chosen by the follower; the reply carries it back. */
  readonly requestId: number;
  /** encodeProposal's bytes: what the leader appends (a `get` is served as a linearizable read). */
  readonly command: Uint8Array;
}

export interface DecodedForwardRequest extends ForwardRequest {
  /**
   * The command, decoded once here so the leader validates before proposing; a
   * DecodeError (a newer follower's command, say) is answered with -ERR under
   * the request id rather than left to time out.
   */
  readonly proposal: Proposal | DecodeError;
}

export interface ForwardReply {
  readonly requestId: number;
  /**
   * What the follower relays to its client: the applied reply, or the leader's
   * own -TRYAGAIN (it is not the leader: nothing proposed) or -TIMEOUT.
   */
  readonly reply: RespValue;
}

/** Layout: u8 version (1), uvarint request id, bytes command (length-prefixed). */
export function encodeForwardRequest(req: ForwardRequest): Uint8Array {
  if (req.command.length > MAX_COMMAND_BYTES) {
    throw new RangeError(
      `forwarded command of ${req.command.length} bytes over ${MAX_COMMAND_BYTES}`,
    );
  }
  return new ByteWriter(req.command.length + 16)
    .u8(FORWARD_VERSION)
    .uvarint(req.requestId)
    .bytes(req.command)
    .finish();
}

export function decodeForwardRequest(data: Uint8Array): DecodedForwardRequest | DecodeError {
  const r = new ByteReader(data);
  const version = r.u8();
  if (r.ok && version !== FORWARD_VERSION) r.fail(`unknown forward version ${version}`);
  const requestId = r.uvarint();
  const command = r.bytes(MAX_COMMAND_BYTES);
  r.expectEnd();
  if (r.error !== null) return r.error;
  return { requestId, command: Uint8Array.from(command), proposal: decodeProposal(command) };
}

/** Layout: u8 version (1), uvarint request id, the reply (see writeReply in commands.ts). */
export function encodeForwardReply(rep: ForwardReply): Uint8Array {
  const w = new ByteWriter(64).u8(FORWARD_VERSION).uvarint(rep.requestId);
  writeReply(w, rep.reply);
  return w.finish();
}

export function decodeForwardReply(data: Uint8Array): ForwardReply | DecodeError {
  const r = new ByteReader(data);
  const version = r.u8();
  if (r.ok && version !== FORWARD_VERSION) r.fail(`unknown forward version ${version}`);
  const requestId = r.uvarint();
  const reply = readReply(r);
  r.expectEnd();
  return r.error ?? { requestId, reply };
}

/**
 * Request ids for one boot. They start at a random point so that a late reply
 * to a request of an earlier boot of this node does not match a new request.
 */
export class ForwardRequestIds {
  private last: number;

  constructor(start = randomInt(0, 2 ** 47)) {
    this.last = start;
  }

  next(): number {
    this.last = this.last >= Number.MAX_SAFE_INTEGER ? 1 : this.last + 1;
    return this.last;
  }
}

export interface ForwarderOptions {
  /** Hands a `forward` payload to the transport; false when it certainly did not leave. */
  readonly send: (to: NodeId, payload: Uint8Array) => boolean;
  /** How long to wait for the leader's reply before answering -TIMEOUT. */
  readonly timeoutMs: number;
  readonly ids?: ForwardRequestIds;
}

export interface ForwarderCounters {
  forwarded: number;
  replied: number;
  timedOut: number;
  /** The transport could not send: answered -TRYAGAIN. */
  notSent: number;
  /** A reply to no waiting request (after its timeout, or of an earlier boot). */
  late: number;
  /** A reply that did not decode, or came from another node than the one asked. */
  malformed: number;
}

interface Waiting {
  readonly to: NodeId;
  readonly resolve: (reply: RespValue) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The follower's side of forwarding: sends a command to the leader, matches the
 * reply by request id, and turns every outcome into the reply for the client:
 * the leader's own, -TRYAGAIN when nothing left this node, -TIMEOUT when it did
 * and no answer came. It never re-sends.
 */
export class Forwarder {
  readonly counters: ForwarderCounters = {
    forwarded: 0,
    replied: 0,
    timedOut: 0,
    notSent: 0,
    late: 0,
    malformed: 0,
  };
  private readonly waiting = new Map<number, Waiting>();
  private readonly ids: ForwardRequestIds;

  constructor(private readonly options: ForwarderOptions) {
    this.ids = options.ids ?? new ForwardRequestIds();
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  /** Forwards `command` (encodeProposal's bytes) to `leader`; always resolves. */
  forward(leader: NodeId, command: Uint8Array): Promise<RespValue> {
    const requestId = this.ids.next();
    const payload = encodeForwardRequest({ requestId, command });
    if (!this.options.send(leader, payload)) {
      this.counters.notSent++;
      return Promise.resolve(
        resp.error(`TRYAGAIN cannot reach the leader ${leader}: nothing was forwarded`),
      );
    }
    this.counters.forwarded++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        this.counters.timedOut++;
        resolve(
          resp.error(
            `TIMEOUT forwarded to the leader ${leader}, no reply within ${this.options.timeoutMs} ms`,
          ),
        );
      }, this.options.timeoutMs);
      this.waiting.set(requestId, { to: leader, resolve, timer });
    });
  }

  /** A `forward-reply` payload arrived from `from`. */
  onReply(from: NodeId, payload: Uint8Array): void {
    const rep = decodeForwardReply(payload);
    if (rep instanceof DecodeError) {
      this.counters.malformed++;
      return;
    }
    const w = this.waiting.get(rep.requestId);
    if (w === undefined) {
      this.counters.late++;
      return;
    }
    if (w.to !== from) {
      this.counters.malformed++;
      return;
    }
    this.waiting.delete(rep.requestId);
    clearTimeout(w.timer);
    this.counters.replied++;
    w.resolve(rep.reply);
  }

  /** Answers everything still waiting with -TIMEOUT (it was forwarded): for shutdown. */
  close(): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      this.waiting.delete(id);
      w.resolve(
        resp.error(`TIMEOUT forwarded to the leader ${w.to}, node stopping before its reply`),
      );
    }
  }
}
