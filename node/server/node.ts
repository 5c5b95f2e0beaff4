/**
 * One Raft key-value node process, wired together:
 *
 *   RESP server ─► KvService ─► Raft driver ◄─ Ticker (real elapsed time)
 *                     ▲             │ persist / send / apply / read states
 *                     │             ▼
 *     KvStateMachine (applier, snapshooter) · WalStorage · UdpTransport
 *
 * Start order: lock the data directory (refuse while another process holds
 * it), recover storage (refuse on corruption), bind the Raft socket,
 * start the driver (which restores the snapshot), listen for clients, log
 * `start`, start the clock. Stop order (SIGTERM): stop taking clients and let
 * the commands already read finish (writes keep committing meanwhile), let
 * the save in flight finish, then stop the driver, answer what still waits
 * with -TIMEOUT, close the socket, sync and close storage, release the lock,
 * log `stop`.
 */
import type { NodeConfig } from '../config.js';
import { Forwarder } from '../kv/forward.js';
import type { RespValue } from '../kv/resp.js';
import { RespServer } from '../kv/server.js';
import { KvStateMachine } from '../kv/state-machine.js';
import { infoReply, statusReply } from '../kv/status.js';
import { NodeLogger, startDropSummary } from '../log.js';
import { Raft, type AppliedUpdate, type RaftConfig } from '../raft/raft.js';
import { DirLock, DirLockedError } from '../storage/dir-lock.js';
import { LatencyWindow } from '../storage/metrics.js';
import type { WalStorage } from '../storage/wal-storage.js';
import { TransportBindError, UdpTransport, type Incoming } from '../transport/udp.js';
import { ObservedStorage } from './durable.js';
import { infoSections } from './info.js';
import { KvService } from './kv-service.js';
import { openStorage } from './open-storage.js';
import { ProposalTracker } from './proposals.js';
import { RaftEventLog, logRole } from './raft-events.js';
import { Ticker } from './ticker.js';

export interface NodeOptions {
  readonly config: NodeConfig;
  readonly version: string;
  /** Where JSON log lines go; stdout by default. */
  readonly write?: (line: string) => void;
  /** One-line notices for a person (the unsafe warning); stderr by default. */
  readonly notice?: (line: string) => void;
}

/** The node could not start; `message` is the one line for stderr. Exit code 3. */
export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
}

/** Timings derived from the election timeout, so a slow cluster gets slower deadlines. */
export interface NodeTimings {
  /** Ticks of the Raft clock. */
  readonly tickMs: number;
  /** A leader's proposal not applied by then is answered -TIMEOUT. */
  readonly writeDeadlineMs: number;
  /** A follower's forwarded write with no reply by then is answered -TIMEOUT (after the leader's). */
  readonly forwardTimeoutMs: number;
  /** A read whose ReadIndex is not confirmed by then is answered -TRYAGAIN. */
  readonly readTimeoutMs: number;
  /** SIGTERM: the longest wait for commands already read. */
  readonly drainMs: number;
}

export function nodeTimings(config: NodeConfig): NodeTimings {
  const writeDeadlineMs = Math.max(2000, 10 * config.electionTimeoutMs.max);
  return {
    tickMs: Math.max(1, Math.min(10, Math.floor(config.heartbeatMs / 5))),
    writeDeadlineMs,
    forwardTimeoutMs: writeDeadlineMs + 1000,
    readTimeoutMs: writeDeadlineMs,
    drainMs: writeDeadlineMs + 1500,
  };
}

export const UNSAFE_WARNINGS = {
  'stale-reads': 'every node answers GET from its own state, without ReadIndex: reads can be stale',
  'lazy-wal':
    'writes are acknowledged before they are on disk and flushed every second: a crash loses acknowledged writes',
  'early-ack':
    'the leader acknowledges a write once it is in its own log, before a majority has it: a leader crash loses acknowledged writes',
} as const;

export class RaftbedNode {
  /** Resolves with the exit code once the node has stopped. */
  readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;
  private stopping: Promise<number> | null = null;

  private constructor(
    private readonly config: NodeConfig,
    private readonly logger: NodeLogger,
    private readonly lock: DirLock,
    private readonly storage: WalStorage,
    private readonly transport: UdpTransport,
    private readonly raft: Raft,
    private readonly proposals: ProposalTracker,
    private readonly forwarder: Forwarder,
    private readonly server: RespServer,
    private readonly ticker: Ticker,
    private readonly stopDropSummary: () => void,
    private readonly timings: NodeTimings,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Opens everything, or throws NodeStartError with one line saying what stopped it. */
  static async start(options: NodeOptions): Promise<RaftbedNode> {
    const c = options.config;
    const timings = nodeTimings(c);
    const logger = new NodeLogger({
      node: c.id,
      ...(options.write !== undefined ? { write: options.write } : {}),
    });
    const notice = options.notice ?? ((line: string) => void process.stderr.write(line + '\n'));
    if (c.unsafe !== 'none') {
      const message = `UNSAFE: --unsafe ${c.unsafe} is on: ${UNSAFE_WARNINGS[c.unsafe]}. For testing the testbed only.`;
      notice(`raftbed node: WARNING: ${message}`);
      logger.log({ event: 'unsafe', mode: c.unsafe, message });
    }
    let lock: DirLock | null = null;
    const refuse = async (message: string): Promise<never> => {
      await lock?.release().catch(() => undefined);
      logger.log({ event: 'stop', reason: message, code: 3 });
      logger.close();
      throw new NodeStartError(message);
    };

    // 1. The data directory: lock it (one process per WAL), then recover, or refuse to start.
    try {
      lock = await DirLock.acquire({ dir: c.data, node: c.id, boot: logger.boot });
    } catch (err) {
      if (err instanceof DirLockedError) return refuse(err.message);
      return refuse(`cannot open the data directory ${c.data}: ${errorText(err)}`);
    }
    const dirLock = lock;
    logLockTakeover(logger, dirLock);
    const opened = await openStorage(c, logger);
    if (typeof opened === 'string') return refuse(opened);
    const storage = opened;

    // 2. The Raft socket. Datagrams that arrive before the driver exists are ignored, as if lost.
    let service: KvService | null = null;
    let raft: Raft | null = null;
    let forwarder: Forwarder | null = null;
    const onReceive = (m: Incoming): void => {
      if (m.kind === 'raft') raft?.handleMessage(m.from, Uint8Array.from(m.payload));
      else if (m.kind === 'forward') service?.onForwardRequest(m.from, m.payload);
      else forwarder?.onReply(m.from, m.payload);
    };
    let transport: UdpTransport;
    try {
      transport = await UdpTransport.open({
        clusterId: c.clusterId,
        self: c.id,
        peers: c.peers,
        maxPayloadBytes: c.maxMessage,
        onReceive,
        onHandlerError: (err) =>
          logger.log({ event: 'error', message: errorText(err), where: 'datagram handler' }),
      });
    } catch (err) {
      await storage.close().catch(() => undefined);
      return refuse(err instanceof TransportBindError ? err.message : errorText(err));
    }

    // 3. The state machine and the driver.
    const kv = new KvStateMachine();
    const proposals = new ProposalTracker({ deadlineMs: timings.writeDeadlineMs });
    const persist = new LatencyWindow();
    let saves = 0;
    let node: RaftbedNode | null = null;
    let fatal: unknown = null;
    const events = new RaftEventLog(
      logger,
      () => raft?.core.status().peers.length ?? c.peers.size,
      () => raft?.getLeader() ?? null,
      {
        leadershipLost: () => {
          proposals.leadershipLost();
          service?.leadershipLost();
        },
        leaderChanged: (previous) => forwarder?.abandon(previous),
        snapshotInstalled: (index) => proposals.snapshotInstalled(index),
        stopped: (error) => {
          fatal = error;
          logger.log({ event: 'error', message: errorText(error), where: 'raft' });
          void node?.stop(`raft stopped: ${errorText(error)}`, 1);
        },
      },
    );
    const settings: RaftConfig = {
      id: c.id,
      peers: [...c.peers.keys()],
      heartbeatMs: c.heartbeatMs,
      electionTimeoutMinMs: c.electionTimeoutMs.min,
      electionTimeoutMaxMs: c.electionTimeoutMs.max,
      logLength: c.logLength,
      chunkLength: c.chunkLength,
      maxMessageLength: c.maxMessage,
    };
    const applier = (u: AppliedUpdate): void => {
      if (u.kind === 'snapshot') {
        kv.restore(u.snapshot.data);
        return;
      }
      const e = u.entry;
      const reply = e.kind === 'command' ? kv.apply(e.index, e.data) : null;
      proposals.applied(e.index, e.term, reply);
    };
    try {
      raft = await Raft.open(settings, {
        storage: new ObservedStorage(storage, {
          saved: (last, ms) => {
            saves++;
            persist.add(ms);
            service?.saved(last);
          },
          overwriting: (from) =>
            logger.log({ event: 'wal-truncated', reason: 'conflict', index: from }),
        }),
        transport: { send: (to, bytes) => void transport.send(to, 'raft', bytes) },
        applier,
        snapshooter: () => kv.snapshot(),
        random: Math.random,
        onEvent: (e) => events.onEvent(e),
      });
    } catch (err) {
      await transport.close();
      await storage.close().catch(() => undefined);
      return refuse(`cannot start Raft from ${c.data}: ${errorText(err)}`);
    }
    const r = raft;
    forwarder = new Forwarder({
      send: (to, payload) => transport.send(to, 'forward', payload),
      timeoutMs: timings.forwardTimeoutMs,
    });
    const fwd = forwarder;

    // 4. Clients.
    let server: RespServer | null = null;
    const status = (): RespValue => {
      const core = r.core;
      return statusReply({
        id: c.id,
        role: logRole(core.role),
        term: core.term,
        leader: core.leader,
        commit: core.commitIndex,
        applied: core.appliedIndex,
        last: core.lastIndex,
        snapshot: core.snapshotIndex,
      });
    };
    const startedAt = Date.now();
    const info = (section: string | null): RespValue =>
      infoReply(
        infoSections({
          server: {
            id: c.id,
            boot: logger.boot,
            version: options.version,
            clusterId: c.clusterId,
            uptimeMs: Date.now() - startedAt,
            fsync: c.fsync,
            unsafe: c.unsafe,
            raftAddress: hostPort(transport.address.address, transport.address.port),
            clientAddress:
              server === null ? '' : hostPort(server.address.address, server.address.port),
          },
          clients: {
            connected: server?.connectionCount ?? 0,
            counters: server?.counters ?? {
              accepted: 0,
              refused: 0,
              commands: 0,
              protocolErrors: 0,
              handlerErrors: 0,
            },
          },
          raft: r.progress(),
          events: events.counters,
          proposals: proposals.counters,
          service: svc.counters,
          forwarder: fwd,
          transport: transport.counters,
          storage: storage.metrics(),
          persist: { p50: persist.quantile(0.5), p99: persist.quantile(0.99), saves },
          keys: kv.keyCount,
          sessions: kv.sessionCount,
        }),
        section,
      );
    const svc: KvService = new KvService({
      raft: r,
      kv,
      proposals,
      forwarder: fwd,
      sendForwardReply: (to, payload) => transport.send(to, 'forward-reply', payload),
      unsafe: c.unsafe,
      readTimeoutMs: timings.readTimeoutMs,
      status,
      info,
    });
    service = svc;
    try {
      server = await RespServer.listen({
        host: c.bindClient,
        port: c.clientPort,
        handler: (args) => svc.handle(args),
        onHandlerError: (err) =>
          logger.log({ event: 'error', message: errorText(err), where: 'client command' }),
      });
    } catch (err) {
      r.stop();
      await transport.close();
      await storage.close().catch(() => undefined);
      return refuse(errorText(err));
    }

    // 5. Serve.
    const ticker = new Ticker({
      intervalMs: timings.tickMs,
      onTick: (ms) => {
        r.tick(ms);
        logger.term = r.core.term;
        logger.commit(r.core.commitIndex);
        logger.applied(r.core.appliedIndex);
      },
    });
    const stopDropSummary = startDropSummary(logger, () => ({
      ...transport.counters.dropped,
      ...Object.fromEntries(
        Object.entries(events.counters.dropped).map(([k, v]) => [`raft-${k}`, v]),
      ),
    }));
    node = new RaftbedNode(
      c,
      logger,
      dirLock,
      storage,
      transport,
      r,
      proposals,
      fwd,
      server,
      ticker,
      stopDropSummary,
      timings,
    );
    logger.log({
      event: 'start',
      version: options.version,
      clusterId: c.clusterId,
      peers: [...c.peers.keys()],
      raft: hostPort(transport.address.address, transport.address.port),
      client: hostPort(server.address.address, server.address.port),
      fsync: c.fsync,
      unsafe: c.unsafe,
    });
    ticker.start();
    if (fatal !== null) void node.stop(`raft stopped: ${errorText(fatal)}`, 1);
    return node;
  }

  get id(): string {
    return this.config.id;
  }

  /** The RESP port listening (the one the system picked for --client-port 0). */
  get clientPort(): number {
    return this.server.address.port;
  }

  /**
   * Stops: with code 0 gracefully (commands already read are answered, writes
   * in flight may still commit, bounded by the drain time); with another code
   * after a failure, answering what waits with -TIMEOUT at once.
   */
  stop(reason: string, code = 0): Promise<number> {
    if (this.stopping !== null) return this.stopping;
    this.stopping = this.shutdown(reason, code);
    return this.stopping;
  }

  private async shutdown(reason: string, code: number): Promise<number> {
    if (code !== 0) {
      this.proposals.close();
      this.forwarder.close();
    }
    await this.server.close(this.timings.drainMs);
    // A save in flight may carry votes and entries peers were promised: let it land.
    await Promise.race([this.raft.idle(), sleep(2000)]);
    this.raft.stop();
    this.ticker.stop();
    this.stopDropSummary();
    this.proposals.close();
    this.forwarder.close();
    await this.transport.close();
    let exit = code;
    try {
      await this.storage.close();
    } catch (err) {
      this.logger.log({ event: 'error', message: errorText(err), where: 'storage close' });
      if (exit === 0) exit = 1;
    }
    try {
      await this.lock.release();
    } catch (err) {
      this.logger.log({ event: 'error', message: errorText(err), where: 'data directory lock' });
    }
    this.logger.commit(this.raft.core.commitIndex);
    this.logger.applied(this.raft.core.appliedIndex);
    this.logger.log({ event: 'stop', reason, code: exit });
    this.logger.close();
    this.resolveDone(exit);
    return exit;
  }
}

/** A lock left by a process that is gone was replaced: say whose, and why it was stale. */
function logLockTakeover(logger: NodeLogger, lock: DirLock): void {
  const t = lock.takenOver;
  if (t === null) return;
  logger.log({
    event: 'lock-taken-over',
    file: lock.path,
    reason: t.reason,
    holderPid: t.holder?.pid ?? null,
    holderNode: t.holder?.node ?? null,
    holderBoot: t.holder?.boot ?? null,
    holderSince: t.holder?.since ?? null,
  });
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
