import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { SetupError } from '../cli/errors.js';
import { Demuxer, demuxBuffer } from './demux.js';
import type { StreamKind } from './demux.js';

/**
 * The one place that talks to the Docker engine. dockerode types many replies
 * as `any` and multiplexes exec and log streams; everything leaving this module
 * is typed and demultiplexed. Only the engine API is used, never the docker CLI.
 */

export type Labels = Readonly<Record<string, string>>;

export type ContainerStatus =
  'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly status: ContainerStatus;
  /** Host pid of the container's first process; 0 when not running. */
  readonly pid: number;
  readonly startedAt: string;
  readonly exitCode: number;
  readonly oomKilled: boolean;
  readonly image: string;
  readonly labels: Labels;
  /** Address on each attached network, by network name. */
  readonly addresses: Readonly<Record<string, string>>;
}

export interface ContainerSummary {
  readonly id: string;
  readonly name: string;
  readonly status: ContainerStatus;
  readonly labels: Labels;
}

export interface NetworkInfo {
  readonly id: string;
  readonly name: string;
  readonly labels: Labels;
  readonly subnets: readonly string[];
}

export interface VolumeInfo {
  readonly name: string;
  readonly labels: Labels;
}

export interface ImageInfo {
  readonly id: string;
  readonly tags: readonly string[];
  readonly labels: Labels;
  readonly size: number;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly cmd: readonly string[];
  readonly hostname?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly labels: Labels;
  /** A user-defined network to join with a static address; absent: the default bridge. */
  readonly network?: string;
  readonly ipv4?: string;
  readonly aliases?: readonly string[];
  /** Named volume -> path in the container. */
  readonly volumes?: Readonly<Record<string, string>>;
  readonly workingDir?: string;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Give up waiting after this long (the process may still run in the container). */
  readonly timeoutMs?: number;
}

export interface LogOptions {
  readonly tail?: number;
  readonly timestamps?: boolean;
  /** Unix seconds. */
  readonly since?: number;
}

/** How to reach the engine, in words a user can act on. */
export function engineAddress(): string {
  const host = process.env['DOCKER_HOST'];
  if (host !== undefined && host !== '') return host;
  return `unix://${defaultSocket()}`;
}

function defaultSocket(): string {
  const user = join(homedir(), '.docker', 'run', 'docker.sock');
  return existsSync(user) ? user : '/var/run/docker.sock';
}

export function noEngineMessage(address: string, cause: string): string {
  return (
    `raftbed: no Docker engine answers at ${address} (${cause}): start one with ` +
    '`sudo dockerd &` (install it with `sudo apt-get install docker.io`), or start Docker Desktop; ' +
    'DOCKER_HOST selects another engine'
  );
}

interface DockerError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

function asDockerError(err: unknown): DockerError {
  return typeof err === 'object' && err !== null ? err : { message: String(err) };
}

function statusOf(err: unknown): number | undefined {
  return asDockerError(err).statusCode;
}

/** The engine's own message, which names what was wrong. */
export function engineMessage(err: unknown): string {
  const e = asDockerError(err);
  const fromJson = e.json?.message;
  if (typeof fromJson === 'string' && fromJson !== '') return fromJson;
  return e.message ?? e.reason ?? String(err);
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE']);

export class Engine {
  private docker!: Docker;
  private loading: Promise<void> | undefined;

  private constructor(
    readonly address: string,
    /** True when the engine runs on this host, so container namespaces can be entered. */
    readonly local: boolean,
  ) {}

  /**
   * The engine client, loaded on first use: dockerode takes a while to load,
   * and a command that only changes rules in namespaces never needs it.
   */
  private ready(): Promise<void> {
    this.loading ??= import('dockerode').then(({ default: DockerClient }) => {
      this.docker = this.local
        ? new DockerClient({ socketPath: this.address.slice('unix://'.length) })
        : new DockerClient();
    });
    return this.loading;
  }

  /** An engine whose first call connects (and fails then, with the same message, if none answers). */
  static open(): Engine {
    const address = engineAddress();
    return new Engine(address, address.startsWith('unix://'));
  }

  /** Connects and pings; a missing engine is a SetupError with one line saying how to get one. */
  static async connect(): Promise<Engine> {
    const engine = Engine.open();
    await engine.ready();
    try {
      await withTimeout(engine.docker.ping(), 5000, 'ping timed out after 5 s');
    } catch (err) {
      const e = asDockerError(err);
      const cause =
        e.code === 'EACCES'
          ? 'permission denied on the socket: run as root or join the docker group'
          : (e.code ?? e.message ?? 'no answer');
      throw new SetupError(noEngineMessage(engine.address, cause));
    }
    return engine;
  }

  /** Wraps engine failures: a lost engine is a SetupError; others keep the engine's words. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.failure(what, err);
    }
  }

  private failure(what: string, err: unknown): Error {
    const e = asDockerError(err);
    if (e.code !== undefined && CONNECTION_CODES.has(e.code)) {
      return new SetupError(noEngineMessage(this.address, e.code));
    }
    return new EngineError(`${what}: ${engineMessage(err)}`, e.statusCode);
  }

  // ---- images ----

  async imageInfo(ref: string): Promise<ImageInfo | undefined> {
    await this.ready();
    try {
      const info = await this.docker.getImage(ref).inspect();
      return {
        id: info.Id,
        tags: info.RepoTags ?? [],
        labels: info.Config?.Labels ?? {},
        size: info.Size,
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.failure(`inspect image ${ref}`, err);
    }
  }

  async listImages(labels: Labels): Promise<ImageInfo[]> {
    await this.ready();
    const list = await this.call('list images', () =>
      this.docker.listImages({ filters: { label: labelFilter(labels) } }),
    );
    return list.map((i) => ({
      id: i.Id,
      tags: i.RepoTags ?? [],
      labels: i.Labels ?? {},
      size: i.Size,
    }));
  }

  /** `docker import`: a root filesystem tar becomes an image; `changes` are Dockerfile lines. */
  async importImage(rootfs: Readable, ref: string, changes: readonly string[]): Promise<string> {
    await this.ready();
    const [repo, tag] = splitRef(ref);
    const stream = await this.call(`import ${ref}`, async () => {
      const res: unknown = await this.docker.importImage(rootfs, {
        repo,
        tag,
        changes: [...changes],
      } as unknown as Record<string, unknown>);
      return res as NodeJS.ReadableStream;
    });
    await progress(stream, `import ${ref}`);
    const info = await this.imageInfo(ref);
    if (info === undefined) throw new EngineError(`import ${ref}: the engine made no image`);
    return info.id;
  }

  /** Builds from a tar build context; resolves once the image is tagged, rejects with the build's error. */
  async buildImage(
    context: Readable,
    opts: {
      readonly tag: string;
      readonly buildArgs?: Readonly<Record<string, string>>;
      readonly labels?: Labels;
      readonly onLine?: (line: string) => void;
      readonly signal?: AbortSignal;
    },
  ): Promise<string> {
    await this.ready();
    const stream = await this.call(`build ${opts.tag}`, async () => {
      const res: unknown = await this.docker.buildImage(context, {
        t: opts.tag,
        buildargs: { ...opts.buildArgs },
        labels: { ...opts.labels },
        rm: true,
        forcerm: true,
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      return res as NodeJS.ReadableStream;
    });
    await progress(stream, `build ${opts.tag}`, opts.onLine);
    const info = await this.imageInfo(opts.tag);
    if (info === undefined) throw new EngineError(`build ${opts.tag}: no image was tagged`);
    return info.id;
  }

  /**
   * Whether a registry answers for `ref` within `timeoutMs`: asks the engine for
   * the image's manifest, which fails at once (DNS) or hangs (firewall) offline.
   */
  async registryAnswers(ref: string, timeoutMs: number): Promise<boolean> {
    await this.ready();
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        // dockerode has no call for the distribution endpoint; the modem does the request.
        this.docker.modem.dial(
          {
            path: `/distribution/${ref}/json`,
            method: 'GET',
            statusCodes: { 200: true, 401: 'unauthorized', 404: 'not found', 500: 'error' },
            abortSignal: signal,
          },
          (err) => (err ? reject(asError(err)) : resolve()),
        );
      });
      return true;
    } catch {
      return false;
    }
  }

  async pullImage(
    ref: string,
    opts: { readonly signal?: AbortSignal; readonly onLine?: (line: string) => void } = {},
  ): Promise<void> {
    await this.ready();
    const stream = await this.call(`pull ${ref}`, async () => {
      const res: unknown = await this.docker.pull(
        ref,
        opts.signal ? { abortSignal: opts.signal } : {},
      );
      return res as NodeJS.ReadableStream;
    });
    await progress(stream, `pull ${ref}`, opts.onLine);
  }

  // ---- networks ----

  async createNetwork(opts: {
    readonly name: string;
    readonly subnet: string;
    readonly gateway: string;
    readonly labels: Labels;
  }): Promise<string> {
    await this.ready();
    const net = await this.call(`create network ${opts.name}`, () =>
      this.docker.createNetwork({
        Name: opts.name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { ...opts.labels },
        IPAM: { Driver: 'default', Config: [{ Subnet: opts.subnet, Gateway: opts.gateway }] },
      }),
    );
    return net.id;
  }

  async listNetworks(labels?: Labels): Promise<NetworkInfo[]> {
    await this.ready();
    const list = await this.call('list networks', () =>
      this.docker.listNetworks(labels ? { filters: { label: labelFilter(labels) } } : {}),
    );
    return list.map((n) => ({
      id: n.Id,
      name: n.Name,
      labels: n.Labels ?? {},
      subnets: (n.IPAM?.Config ?? [])
        .map((c) => (c as { Subnet?: string }).Subnet)
        .filter((s): s is string => typeof s === 'string'),
    }));
  }

  async removeNetwork(id: string): Promise<void> {
    await this.ready();
    await this.ignoring404(`remove network ${id}`, () => this.docker.getNetwork(id).remove());
  }

  // ---- volumes ----

  async createVolume(name: string, labels: Labels): Promise<void> {
    await this.ready();
    await this.call(`create volume ${name}`, () =>
      this.docker.createVolume({ Name: name, Labels: { ...labels } }),
    );
  }

  async listVolumes(labels: Labels): Promise<VolumeInfo[]> {
    await this.ready();
    const res = await this.call('list volumes', () =>
      this.docker.listVolumes({ filters: { label: labelFilter(labels) } }),
    );
    return (res.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  }

  async removeVolume(name: string): Promise<void> {
    await this.ready();
    await this.ignoring404(`remove volume ${name}`, () =>
      this.docker.getVolume(name).remove({ force: true }),
    );
  }

  // ---- containers ----

  async createContainer(spec: ContainerSpec): Promise<string> {
    await this.ready();
    const binds = Object.entries(spec.volumes ?? {}).map(([vol, path]) => `${vol}:${path}`);
    const c = await this.call(`create container ${spec.name}`, () =>
      this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: [...spec.cmd],
        Hostname: spec.hostname ?? spec.name,
        Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: { ...spec.labels },
        ...(spec.workingDir !== undefined ? { WorkingDir: spec.workingDir } : {}),
        HostConfig: {
          NetworkMode: spec.network ?? 'bridge',
          Binds: binds,
          RestartPolicy: { Name: 'no' },
        },
        ...(spec.network !== undefined
          ? {
              NetworkingConfig: {
                EndpointsConfig: {
                  [spec.network]: {
                    ...(spec.ipv4 !== undefined ? { IPAMConfig: { IPv4Address: spec.ipv4 } } : {}),
                    Aliases: [...(spec.aliases ?? [])],
                  },
                },
              },
            }
          : {}),
      }),
    );
    return c.id;
  }

  async inspectContainer(idOrName: string): Promise<ContainerInfo | undefined> {
    await this.ready();
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(idOrName).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.failure(`inspect container ${idOrName}`, err);
    }
    const addresses: Record<string, string> = {};
    for (const [net, ep] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
      const configured = (ep.IPAMConfig as { IPv4Address?: string } | undefined)?.IPv4Address;
      if (ep.IPAddress) addresses[net] = ep.IPAddress;
      else if (configured) addresses[net] = configured;
    }
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      status: info.State.Status as ContainerStatus,
      pid: info.State.Pid,
      startedAt: info.State.StartedAt,
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      image: info.Config.Image,
      labels: info.Config.Labels ?? {},
      addresses,
    };
  }

  async listContainers(labels: Labels): Promise<ContainerSummary[]> {
    await this.ready();
    const list = await this.call('list containers', () =>
      this.docker.listContainers({ all: true, filters: { label: labelFilter(labels) } }),
    );
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      status: c.State as ContainerStatus,
      labels: c.Labels ?? {},
    }));
  }

  /** Starts a container; false when it was already running (the engine's 304). */
  async startContainer(id: string): Promise<boolean> {
    await this.ready();
    return this.call(`start ${id}`, async () => {
      try {
        await this.docker.getContainer(id).start();
        return true;
      } catch (err) {
        if (statusOf(err) === 304) return false;
        throw err;
      }
    });
  }

  async killContainer(id: string, signal = 'SIGKILL'): Promise<void> {
    await this.ready();
    await this.call(`kill ${id}`, async () => {
      try {
        await this.docker.getContainer(id).kill({ signal });
      } catch (err) {
        // 409: not running, which is what a kill wants.
        if (statusOf(err) !== 409) throw err;
      }
    });
  }

  /** Waits until the container has stopped (after a kill, the engine reports it a little later). */
  async waitStopped(id: string): Promise<void> {
    await this.ready();
    await this.call(`wait ${id}`, async () => {
      try {
        await this.docker.getContainer(id).wait({ condition: 'not-running' });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    });
  }

  async pauseContainer(id: string): Promise<void> {
    await this.ready();
    await this.call(`pause ${id}`, () => this.docker.getContainer(id).pause());
  }

  async unpauseContainer(id: string): Promise<void> {
    await this.ready();
    await this.call(`unpause ${id}`, () => this.docker.getContainer(id).unpause());
  }

  /** Removes the container and any anonymous volume it had; named volumes stay. */
  async removeContainer(id: string): Promise<void> {
    await this.ready();
    await this.ignoring404(`remove container ${id}`, () =>
      this.docker.getContainer(id).remove({ force: true, v: true }),
    );
  }

  /** The container's log so far; `combined` keeps stdout and stderr in the order written. */
  async logs(
    id: string,
    opts: LogOptions = {},
  ): Promise<{ stdout: string; stderr: string; combined: string }> {
    await this.ready();
    const buf = await this.call(`logs ${id}`, () =>
      this.docker.getContainer(id).logs({ follow: false, ...logQuery(opts) }),
    );
    const { stdout, stderr, combined } = demuxBuffer(buf);
    return {
      stdout: stdout.toString('utf8'),
      stderr: stderr.toString('utf8'),
      combined: combined.toString('utf8'),
    };
  }

  /** Streams logs until the container stops or `signal` aborts. */
  async followLogs(
    id: string,
    onData: (kind: StreamKind, data: Buffer) => void,
    opts: LogOptions & { readonly signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.ready();
    const stream = await this.call(`logs ${id}`, () =>
      this.docker.getContainer(id).logs({ follow: true, ...logQuery(opts) }),
    );
    const demux = new Demuxer(onData);
    await new Promise<void>((resolve, reject) => {
      const readable = stream as Readable;
      const stop = (): void => {
        readable.destroy();
        resolve();
      };
      opts.signal?.addEventListener('abort', stop, { once: true });
      readable.on('data', (chunk: Buffer) => demux.push(chunk));
      readable.on('end', resolve);
      readable.on('close', resolve);
      readable.on('error', (err) => (opts.signal?.aborted ? resolve() : reject(err)));
    });
  }

  /** Runs a command in a running container and collects its output (demultiplexed). */
  async exec(id: string, cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    await this.ready();
    const container = this.docker.getContainer(id);
    const exec = await this.call(`exec in ${id}`, () =>
      container.exec({
        Cmd: [...cmd],
        AttachStdout: true,
        AttachStderr: true,
        Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
      }),
    );
    const stream = await this.call(`exec in ${id}`, () =>
      exec.start({ hijack: true, stdin: false }),
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const demux = new Demuxer((kind, data) => (kind === 'stderr' ? err : out).push(data));
    await new Promise<void>((resolve, reject) => {
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              stream.destroy();
              reject(
                new EngineError(
                  `exec in ${id}: no end after ${opts.timeoutMs} ms: ${cmd.join(' ')}`,
                ),
              );
            }, opts.timeoutMs);
      stream.on('data', (chunk: Buffer) => demux.push(chunk));
      stream.on('end', () => {
        if (timer) clearTimeout(timer);
        resolve();
      });
      stream.on('error', (e: Error) => {
        if (timer) clearTimeout(timer);
        reject(e);
      });
    });
    // The engine may report the exec still running for a moment after its stream ends.
    for (let i = 0; ; i++) {
      const info = await this.call(`exec in ${id}`, () => exec.inspect());
      if (!info.Running || i >= 100) {
        return {
          exitCode: info.ExitCode ?? -1,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        };
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Starts a command in a running container and returns without waiting for it. */
  async execDetached(id: string, cmd: readonly string[], opts: ExecOptions = {}): Promise<void> {
    await this.ready();
    const container = this.docker.getContainer(id);
    const exec = await this.call(`exec in ${id}`, () =>
      container.exec({
        Cmd: [...cmd],
        AttachStdout: false,
        AttachStderr: false,
        Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
      }),
    );
    await this.call(`exec in ${id}`, () => exec.start({ Detach: true }));
  }

  private async ignoring404(what: string, fn: () => Promise<unknown>): Promise<void> {
    await this.call(what, async () => {
      try {
        await fn();
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    });
  }
}

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

/** Both streams, as the log endpoint wants its options. */
function logQuery(opts: LogOptions): Omit<Docker.ContainerLogsOptions, 'follow'> {
  return {
    stdout: true,
    stderr: true,
    timestamps: opts.timestamps ?? false,
    ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
    ...(opts.since !== undefined ? { since: opts.since } : {}),
  };
}

function labelFilter(labels: Labels): string[] {
  return Object.entries(labels).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
}

function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return [ref.slice(0, colon), ref.slice(colon + 1)];
  return [ref, 'latest'];
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(engineMessage(err));
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(asError(e));
      },
    );
  });
}

/**
 * Reads an engine progress stream (JSON lines) to its end. A line with `error`
 * fails the whole operation with the engine's message, as the docker CLI does.
 */
async function progress(
  stream: NodeJS.ReadableStream,
  what: string,
  onLine?: (line: string) => void,
): Promise<void> {
  let buf = '';
  let failure: string | undefined;
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    let obj: {
      stream?: string;
      status?: string;
      error?: string;
      errorDetail?: { message?: string };
    };
    try {
      obj = JSON.parse(line) as typeof obj;
    } catch {
      onLine?.(line);
      return;
    }
    if (obj.error !== undefined || obj.errorDetail !== undefined) {
      failure ??= obj.errorDetail?.message ?? obj.error ?? 'failed';
      return;
    }
    const text = (obj.stream ?? obj.status ?? '').trimEnd();
    if (text !== '') onLine?.(text);
  };
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        handle(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      handle(buf);
      resolve();
    });
    stream.on('error', (err: unknown) => reject(new EngineError(`${what}: ${engineMessage(err)}`)));
  });
  if (failure !== undefined) throw new EngineError(`${what}: ${failure.trim()}`);
}
