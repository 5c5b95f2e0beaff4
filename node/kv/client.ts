/**
 * A small RESP client for tests, the experiment workload and the harness.
 *
 * It never retries. Every failure says which case it was, because a history
 * records them differently:
 * - ClientError with `sent: false` (refused, unreachable, connect-timeout,
 *   not-connected): nothing reached the server, the command certainly had no effect;
 * - ClientError with `sent: true` (lost, timeout, protocol): the request went out
 *   and no reply came back, so whether it took effect is unknown;
 * - ReplyError: the server answered with an error; its `code` is the first word
 *   (TRYAGAIN, TIMEOUT, ERR, ...), whose meaning cli.md fixes.
 *
 * After a timeout or a lost connection the client is closed: a late reply on the
 * same connection could otherwise be taken for the answer to a later command.
 */
import { connect as netConnect, type Socket } from 'node:net';
import {
  RespReplyParser,
  encodeCommand,
  formatValue,
  type ReplyLimits,
  type RespValue,
} from './resp.js';

export type ClientErrorKind =
  /** The host answered that nothing listens there (ECONNREFUSED). */
  | 'refused'
  /** No route, no such host, network down. */
  | 'unreachable'
  /** The connection was not established within the connect timeout. */
  | 'connect-timeout'
  /** The client was already closed when the command was issued. */
  | 'not-connected'
  /** The connection closed or broke after the command was sent, before its reply. */
  | 'lost'
  /** No reply within the command timeout after the command was sent. */
  | 'timeout'
  /** The server sent bytes that are not RESP. */
  | 'protocol';

const NOT_SENT: ReadonlySet<ClientErrorKind> = new Set([
  'refused',
  'unreachable',
  'connect-timeout',
  'not-connected',
]);

export class ClientError extends Error {
  override readonly name = 'ClientError';
  /** False: certainly no effect. True: the command may or may not have taken effect. */
  readonly sent: boolean;

  constructor(
    readonly kind: ClientErrorKind,
    /** `host:port` of the server. */
    readonly address: string,
    detail: string,
  ) {
    super(`${address}: ${kind}: ${detail}`);
    this.sent = !NOT_SENT.has(kind);
  }
}

/** The server answered `-CODE message`. */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
  /** The first word of the reply: TRYAGAIN, TIMEOUT, ERR, ... */
  readonly code: string;

  constructor(
    /** The whole error reply without its leading '-'. */
    readonly reply: string,
  ) {
    super(reply);
    const first = reply.split(' ', 1)[0] ?? '';
    this.code = /^[A-Z][A-Z0-9_.-]*$/.test(first) ? first : 'ERR';
  }
}

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  /** Default 1000 ms. */
  readonly connectTimeoutMs?: number;
  /** Default for every command; a call may give its own. Default 5000 ms. */
  readonly commandTimeoutMs?: number;
  readonly limits?: Partial<ReplyLimits>;
  /** Opens the TCP connection; net.connect unless a test needs otherwise. */
  readonly createConnection?: (options: { host: string; port: number; noDelay: boolean }) => Socket;
}

export interface CallOptions {
  readonly timeoutMs?: number;
}

type Arg = string | Uint8Array | number;

interface Pending {
  readonly resolve: (v: RespValue) => void;
  readonly reject: (e: ClientError) => void;
  /** The call or pipeline this command belongs to. */
  readonly group: object;
}

const UNREACHABLE_CODES = new Set([
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ENETDOWN',
  'EHOSTDOWN',
]);

export function connectFailure(err: NodeJS.ErrnoException, address: string): ClientError {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return new ClientError('refused', address, err.message);
  if (code === 'ETIMEDOUT') return new ClientError('connect-timeout', address, err.message);
  if (UNREACHABLE_CODES.has(code)) return new ClientError('unreachable', address, err.message);
  // Anything else before the connection existed (a reset during the handshake...) sent nothing either.
  return new ClientError('unreachable', address, `${code || 'error'}: ${err.message}`);
}

function toArgs(args: readonly Arg[]): (string | Uint8Array)[] {
  return args.map((a) => (typeof a === 'number' ? String(a) : a));
}

function commandName(args: readonly Arg[]): string {
  const first = args[0];
  return first === undefined ? '' : typeof first === 'string' ? first : String(first);
}

export class RespClient {
  readonly address: string;
  private readonly pending: Pending[] = [];
  private readonly parser: RespReplyParser;
  private closedBy: ClientError | null = null;
  private readonly commandTimeoutMs: number;

  private constructor(
    private readonly socket: Socket,
    options: ClientOptions,
  ) {
    this.address = `${options.host}:${options.port}`;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5000;
    this.parser = new RespReplyParser(options.limits);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new ClientError('lost', this.address, err.message)));
    socket.on('close', () =>
      this.fail(new ClientError('lost', this.address, 'connection closed by the server')),
    );
  }

  /** Connects, or rejects with a ClientError whose `sent` is false. */
  static connect(options: ClientOptions): Promise<RespClient> {
    const address = `${options.host}:${options.port}`;
    const timeoutMs = options.connectTimeoutMs ?? 1000;
    return new Promise((resolve, reject) => {
      const open = options.createConnection ?? netConnect;
      const socket = open({ host: options.host, port: options.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ClientError('connect-timeout', address, `no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(connectFailure(err, address));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespClient(socket, options));
      });
    });
  }

  /** False once the connection is gone; every later call fails with `not-connected`. */
  get connected(): boolean {
    return this.closedBy === null;
  }

  /**
   * Sends one command and resolves with its reply. An error reply rejects with a
   * ReplyError; anything else with a ClientError.
   */
  async call(args: readonly Arg[], options: CallOptions = {}): Promise<RespValue> {
    const [reply] = await this.send([args], options);
    if (reply === undefined) throw new ClientError('protocol', this.address, 'no reply');
    if (reply.type === 'error') throw new ReplyError(reply.value);
    return reply;
  }

  /**
   * Sends commands in one write and resolves with their replies in order, error
   * replies included as values. Rejects with a ClientError if the connection
   * fails before every reply arrived (the replies that did arrive are lost).
   */
  pipeline(commands: readonly (readonly Arg[])[], options: CallOptions = {}): Promise<RespValue[]> {
    return this.send(commands, options);
  }

  /** Closes at once; commands still waiting fail with `lost`. */
  close(): void {
    this.fail(new ClientError('lost', this.address, 'client closed'));
  }

  private send(commands: readonly (readonly Arg[])[], options: CallOptions): Promise<RespValue[]> {
    const what = commands.map(commandName).join(', ');
    if (this.closedBy !== null) {
      return Promise.reject(
        new ClientError(
          'not-connected',
          this.address,
          `${what} not sent: ${this.closedBy.message}`,
        ),
      );
    }
    if (commands.length === 0) return Promise.resolve([]);
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    const group = {};
    return new Promise<RespValue[]>((resolve, reject) => {
      const replies: RespValue[] = [];
      let settled = false;
      const timer = setTimeout(() => {
        const e = new ClientError(
          'timeout',
          this.address,
          `no reply to ${what} within ${timeoutMs} ms`,
        );
        this.fail(e, group);
      }, timeoutMs);
      const onError = (e: ClientError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      };
      const onReply = (v: RespValue): void => {
        replies.push(v);
        if (replies.length === commands.length) {
          settled = true;
          clearTimeout(timer);
          resolve(replies);
        }
      };
      for (let i = 0; i < commands.length; i++)
        this.pending.push({ group, resolve: onReply, reject: onError });
      this.socket.write(Buffer.concat(commands.map((c) => encodeCommand(toArgs(c)))));
    });
  }

  private onData(chunk: Buffer): void {
    const { items, error } = this.parser.push(chunk);
    for (const v of items) {
      const p = this.pending.shift();
      if (p === undefined) {
        const text = formatValue(v).slice(0, 80);
        this.fail(new ClientError('protocol', this.address, `reply ${text} to no command`));
        return;
      }
      p.resolve(v);
    }
    if (error !== null) this.fail(new ClientError('protocol', this.address, error.message));
  }

  /**
   * Ends the connection; every command still waiting fails. When a timeout is
   * the cause, the commands of other calls on the connection were cut by it:
   * they fail as `lost`.
   */
  private fail(error: ClientError, timedOut: object | null = null): void {
    if (this.closedBy === null) {
      this.closedBy = error;
      this.socket.destroy();
    }
    const cut =
      timedOut === null
        ? error
        : new ClientError('lost', this.address, `connection closed after: ${error.message}`);
    for (const p of this.pending.splice(0)) p.reject(p.group === timedOut ? error : cut);
  }
}

/** The arguments of `command` sent exactly-once under a session (see the README). */
export function onceArgs(
  session: { readonly id: number; readonly seq: number },
  command: readonly Arg[],
): Arg[] {
  return ['RAFT.ONCE', session.id, session.seq, ...command];
}
