/**
 * A RESP server over TCP: many connections, pipelining with replies in request
 * order even when they complete out of order, backpressure on a client that
 * sends faster than it reads, and a graceful close for SIGTERM. What a command
 * means is the handler's business; this file only moves bytes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  RespCommandParser,
  encodeValue,
  resp,
  type RespCommand,
  type RespLimits,
  type RespProtocolError,
  type RespValue,
} from './resp.js';

export interface RespConnectionInfo {
  readonly id: number;
  /** `address:port` of the client. */
  readonly remote: string;
}

/** Answers one command; may take its time (a write waits for commit). */
export type RespHandler = (
  args: RespCommand,
  conn: RespConnectionInfo,
) => RespValue | Promise<RespValue>;

export interface RespServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly handler: RespHandler;
  readonly limits?: Partial<RespLimits>;
  /** More connections than this are closed at once. Default 1024. */
  readonly maxConnections?: number;
  /** Commands handed to the handler and not yet answered, per connection; more wait. Default 256. */
  readonly maxPipeline?: number;
  /** Garbage from a client, answered and closed: for the node's counters and log. */
  readonly onProtocolError?: (error: RespProtocolError, conn: RespConnectionInfo) => void;
  /** The handler threw: a bug, answered with -ERR; for the node's log. */
  readonly onHandlerError?: (error: unknown, conn: RespConnectionInfo) => void;
}

export interface RespServerCounters {
  accepted: number;
  refused: number;
  commands: number;
  protocolErrors: number;
  handlerErrors: number;
}

interface Slot {
  reply: RespValue | null;
  closeAfter: boolean;
}

/** Read from the socket, not yet handed to the handler. */
type Queued =
  | { readonly kind: 'command'; readonly args: RespCommand }
  | { readonly kind: 'quit' }
  | { readonly kind: 'garbage'; readonly error: RespProtocolError };

class Connection {
  private readonly parser: RespCommandParser;
  /** Handed to the handler, replies owed in this order. */
  private readonly slots: Slot[] = [];
  private readonly backlog: Queued[] = [];
  private readonly maxPipeline: number;
  private paused = false;
  /** No more input is read (protocol error, QUIT, server closing). */
  private draining = false;
  private ended = false;
  readonly done: Promise<void>;
  private markDone!: () => void;

  constructor(
    readonly info: RespConnectionInfo,
    private readonly socket: Socket,
    private readonly server: RespServer,
    private readonly options: RespServerOptions,
  ) {
    this.parser = new RespCommandParser(options.limits);
    this.maxPipeline = Math.max(1, options.maxPipeline ?? 256);
    this.done = new Promise((r) => (this.markDone = r));
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => this.pump());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.ended = true;
      this.markDone();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.draining) return;
    const { items, error } = this.parser.push(chunk);
    for (const args of items) {
      if (args[0]?.toString('latin1').toUpperCase() === 'QUIT') {
        this.backlog.push({ kind: 'quit' });
        this.stopReading();
        break;
      }
      this.backlog.push({ kind: 'command', args });
    }
    if (error !== null && !this.draining) {
      this.backlog.push({ kind: 'garbage', error });
      this.stopReading();
    }
    this.pump();
  }

  /** Hands queued commands to the handler while fewer than maxPipeline are owed. */
  private pump(): void {
    // Replies that are ready at once free their slots in flush, which lets more in.
    do {
      this.dispatchBacklog();
      this.flush();
    } while (this.canDispatch());
    // Stop reading while commands wait or the client does not read its replies.
    const busy = this.backlog.length > 0 || this.socket.writableNeedDrain;
    if (busy && !this.paused && !this.draining) {
      this.paused = true;
      this.socket.pause();
    } else if (!busy && this.paused && !this.draining) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private canDispatch(): boolean {
    return (
      this.backlog.length > 0 &&
      this.slots.length < this.maxPipeline &&
      !this.ended &&
      !this.socket.writableNeedDrain
    );
  }

  private dispatchBacklog(): void {
    while (this.canDispatch()) {
      const q = this.backlog.shift() as Queued;
      this.server.counters.commands++;
      if (q.kind === 'command') {
        this.dispatch(q.args);
      } else if (q.kind === 'quit') {
        this.slots.push({ reply: resp.simple('OK'), closeAfter: true });
      } else {
        this.server.counters.protocolErrors++;
        this.options.onProtocolError?.(q.error, this.info);
        this.slots.push({ reply: resp.error(`ERR ${q.error.message}`), closeAfter: true });
      }
    }
  }

  private dispatch(args: RespCommand): void {
    let result: RespValue | Promise<RespValue>;
    try {
      result = this.options.handler(args, this.info);
    } catch (err) {
      result = this.handlerFailed(err);
    }
    if (!(result instanceof Promise)) {
      this.slots.push({ reply: result, closeAfter: false });
      return;
    }
    const slot: Slot = { reply: null, closeAfter: false };
    this.slots.push(slot);
    result.then(
      (reply) => {
        slot.reply = reply;
        this.pump();
      },
      (err: unknown) => {
        slot.reply = this.handlerFailed(err);
        this.pump();
      },
    );
  }

  private handlerFailed(err: unknown): RespValue {
    this.server.counters.handlerErrors++;
    try {
      this.options.onHandlerError?.(err, this.info);
    } catch {
      // The reply below still goes out.
    }
    return resp.error('ERR internal error');
  }

  /** Writes every reply at the head of the queue that is ready, in one write. */
  private flush(): void {
    if (this.ended) return;
    const out: Buffer[] = [];
    let close = false;
    while (this.slots.length > 0 && this.slots[0]?.reply != null) {
      const slot = this.slots.shift() as Slot;
      out.push(encodeValue(slot.reply as RespValue));
      if (slot.closeAfter) {
        close = true;
        break;
      }
    }
    if (out.length > 0)
      this.socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
    if (close || (this.draining && this.slots.length === 0 && this.backlog.length === 0)) {
      this.ended = true;
      this.slots.length = 0;
      this.backlog.length = 0;
      this.socket.end();
      // A client that never reads must not keep the connection open forever.
      setTimeout(() => this.socket.destroy(), 5000).unref();
    }
  }

  private stopReading(): void {
    this.draining = true;
    this.socket.pause();
  }

  /** Stops reading; commands already read are answered, then the connection ends. */
  drain(): void {
    this.stopReading();
    this.pump();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class RespServer {
  readonly counters: RespServerCounters = {
    accepted: 0,
    refused: 0,
    commands: 0,
    protocolErrors: 0,
    handlerErrors: 0,
  };
  private readonly connections = new Set<Connection>();
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    private readonly options: RespServerOptions,
  ) {
    server.on('connection', (socket) => this.accept(socket));
    // Accept errors (EMFILE and the like) must not end the process.
    server.on('error', () => {});
  }

  /** Starts listening; rejects with an error naming the address when it cannot. */
  static async listen(options: RespServerOptions): Promise<RespServer> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new Error(`cannot listen for clients on ${options.host}:${options.port}: ${err.message}`),
        ),
      );
      server.listen({ host: options.host, port: options.port, exclusive: true }, () => resolve());
    });
    server.removeAllListeners('error');
    return new RespServer(server, options);
  }

  get address(): { address: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') return { address: '', port: 0 };
    return { address: a.address, port: a.port };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= (this.options.maxConnections ?? 1024)) {
      this.counters.refused++;
      socket.on('error', () => {});
      socket.end(encodeValue(resp.error('ERR max number of clients reached')));
      return;
    }
    this.counters.accepted++;
    const info = {
      id: this.nextId++,
      remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
    };
    const conn = new Connection(info, socket, this, this.options);
    this.connections.add(conn);
    void conn.done.then(() => this.connections.delete(conn));
  }

  /**
   * Stops accepting, stops reading commands, lets every command already read
   * finish and its reply go out, then closes. After `graceMs` whatever is left
   * is cut.
   */
  async close(graceMs = 5000): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const c of this.connections) c.drain();
    const all = Promise.all([...this.connections].map((c) => c.done));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([all, deadline]);
    clearTimeout(timer);
    for (const c of this.connections) c.destroy();
    await closed;
  }
}
