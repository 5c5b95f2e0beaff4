import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { SetupError, UsageError } from '../cli/errors.js';
import { Engine, EngineError } from '../docker/engine.js';
import type { ContainerInfo } from '../docker/engine.js';
import { ensureImage } from '../docker/image.js';
import { repoRoot } from '../docker/repo.js';
import {
  delayerTag,
  findDelayers,
  isDelayerAlive,
  NODE_IFACE,
  planQdisc,
  probeNetem,
  setQdisc,
  startDelayer,
  stopDelayer,
} from '../faults/delay.js';
import { inNetns, inNetnsOk, netnsProblem, pidBelongsTo } from '../faults/netns.js';
import { applyScript, chainBody, nodeNetFaults, removeScript, scanRules } from '../faults/rules.js';
import { delayerArgs, qdiscRate, readRules } from '../faults/readback.js';
import { normalizeCuts, resolvePartition } from '../faults/shapes.js';
import type { Cut, Partition, PartitionShape } from '../faults/shapes.js';
import type {
  Address,
  Backend,
  Cluster,
  ClusterAction,
  ClusterEvent,
  ClusterStatus,
  DownReport,
  FaultsInForce,
  NodeState,
  NodeStatus,
  SlowOptions,
  Targets,
  UpOptions,
} from './backend.js';
import { Interrupted } from './interrupt.js';
import {
  clusterLabels,
  IP_LABEL,
  KIND_LABEL,
  NODE_LABEL,
  SPEC_LABEL,
  containerName,
  networkName,
  volumeName,
} from './names.js';
import { raftStatus } from './raft-status.js';
import { CLIENT_PORT, DATA_DIR, nodeCommand, nodeNames, specProblem } from './spec.js';
import type { ClusterSpec, NodeName } from './spec.js';
import { StateStore } from './state.js';
import type {
  AppliedNet,
  ClusterState,
  DelayerRecord,
  FlakySetting,
  NodeRecord,
  SlowSetting,
} from './state.js';
import { chooseSubnet, gatewayIp, nodeIp } from './subnet.js';

/**
 * The Docker backend: one user-defined bridge network per cluster with a
 * static address per node, one container and one named volume per node, all
 * labelled with the cluster. Network faults are applied from the host inside
 * each container's namespace (see faults/), and recorded in the cluster's
 * state file so they compose across processes and survive node restarts.
 */

/** What one `up` made so far, so a failure or Ctrl-C removes exactly that. */
interface Made {
  network?: string;
  readonly volumes: string[];
  readonly containers: string[];
}

/** Like Promise.all, but waits for every promise before failing, so nothing is still being made. */
async function settled<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** A cluster problem the user can act on (exit 3, one line). */
export class ClusterError extends SetupError {}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function nodeRecordIps(nodes: Readonly<Record<NodeName, NodeRecord>>): Record<NodeName, string> {
  return Object.fromEntries(Object.entries(nodes).map(([n, r]) => [n, r.ip]));
}

function stateOf(status: ContainerInfo['status'] | undefined): NodeState {
  if (status === undefined) return 'missing';
  if (status === 'running' || status === 'restarting') return 'running';
  if (status === 'paused') return 'paused';
  return 'stopped';
}

function hostSubnets(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && a.cidr) out.push(a.cidr);
    }
  }
  return out;
}

export interface DockerBackendOptions {
  readonly store?: StateStore;
  /** Checkout whose dist/ is imaged when a spec names no image. */
  readonly root?: string;
}

export class DockerBackend implements Backend {
  readonly kind = 'docker';
  readonly store: StateStore;
  private readonly root: string | undefined;

  constructor(
    readonly engine: Engine,
    opts: DockerBackendOptions = {},
  ) {
    this.store = opts.store ?? new StateStore();
    this.root = opts.root;
  }

  /** Checks that an engine answers first (one line saying how to get one if not). */
  static async connect(opts: DockerBackendOptions = {}): Promise<DockerBackend> {
    return new DockerBackend(await Engine.connect(), opts);
  }

  /**
   * Connects on first use: a fault verb on a cluster whose state is recorded
   * changes rules in namespaces and may never need the engine at all.
   */
  static open(opts: DockerBackendOptions = {}): DockerBackend {
    return new DockerBackend(Engine.open(), opts);
  }

  async up(spec: ClusterSpec, opts: UpOptions = {}): Promise<DockerCluster> {
    const problem = specProblem(spec);
    if (problem) throw new UsageError(`raftbed up: ${problem}`);
    const log = opts.log ?? (() => undefined);
    const name = spec.name;
    const image =
      spec.image ??
      (
        await ensureImage(this.engine, {
          root: this.root ?? repoRoot(),
          log,
          ...(opts.signal ? { signal: opts.signal } : {}),
        })
      ).ref;
    if ((await this.engine.imageInfo(image)) === undefined) {
      throw new ClusterError(
        `image ${image} is not on this engine: build it with \`raftbed build\``,
      );
    }
    const nodes = nodeNames(spec.nodes);
    const labels = clusterLabels(name);
    // Checked under the lock, so two `up`s of one name cannot both go ahead.
    return this.store.locked(name, async () => {
      const existing = await this.leftovers(name);
      if (existing.total > 0) {
        if (!opts.replace) {
          throw new ClusterError(
            `cluster ${name} already exists (${existing.summary}): \`raftbed down --name ${name}\` first, or up --replace`,
          );
        }
        await this.removeObjects(name);
        await this.store.removeFiles(name);
      }
      const made: Made = { volumes: [], containers: [] };
      try {
        return await this.create(spec, image, nodes, labels, opts, made);
      } catch (err) {
        // Roll back a half-made cluster (also on Ctrl-C): exactly what this call made goes.
        await this.removeMade(made);
        await this.store.remove(name);
        throw err;
      }
    });
  }

  private async removeMade(made: Made): Promise<void> {
    await Promise.allSettled(made.containers.map((id) => this.engine.removeContainer(id)));
    if (made.network !== undefined) await this.engine.removeNetwork(made.network);
    await Promise.allSettled(made.volumes.map((v) => this.engine.removeVolume(v)));
  }

  private async create(
    spec: ClusterSpec,
    image: string,
    nodes: readonly NodeName[],
    labels: Record<string, string>,
    opts: UpOptions,
    made: Made,
  ): Promise<DockerCluster> {
    const name = spec.name;
    const check = (): void => {
      if (opts.signal?.aborted) throw new Interrupted('up interrupted');
    };
    const net = networkName(name);
    let subnet = spec.subnet;
    let networkId = '';
    const fullSpec = (s: string): ClusterSpec => ({ ...spec, image, subnet: s });
    for (let attempt = 0; ; attempt++) {
      const taken = [
        ...(await this.engine.listNetworks()).flatMap((n) => n.subnets),
        ...hostSubnets(),
      ];
      const chosen = subnet ?? chooseSubnet(name, taken);
      try {
        networkId = await this.engine.createNetwork({
          name: net,
          subnet: chosen,
          gateway: gatewayIp(chosen),
          labels: {
            ...labels,
            [KIND_LABEL]: 'network',
            [SPEC_LABEL]: JSON.stringify(fullSpec(chosen)),
          },
        });
        made.network = networkId;
        subnet = chosen;
        break;
      } catch (err) {
        // Another cluster took the same subnet meanwhile: try the next free one.
        const overlap = err instanceof EngineError && /overlap/i.test(err.message);
        if (!overlap || spec.subnet !== undefined || attempt >= 5) throw err;
      }
    }
    const ips: Record<NodeName, string> = {};
    nodes.forEach((n, i) => (ips[n] = nodeIp(subnet, i + 1)));
    const records: Record<NodeName, NodeRecord> = {};
    for (const n of nodes) {
      records[n] = { ip: ips[n] ?? '', container: containerName(name, n), id: '' };
    }
    const state: ClusterState = {
      version: 1,
      name,
      backend: 'docker',
      networkId,
      network: net,
      subnet,
      image,
      spec: fullSpec(subnet),
      nodes: records,
      flaky: {},
      slow: {},
      applied: {},
    };
    await this.store.save(state);
    check();
    await settled(
      nodes.map(async (n) => {
        await this.engine.createVolume(volumeName(name, n), {
          ...labels,
          [KIND_LABEL]: 'volume',
          [NODE_LABEL]: n,
        });
        made.volumes.push(volumeName(name, n));
      }),
    );
    check();
    const ids = await settled(
      nodes.map(async (n) => {
        const id = await this.engine.createContainer({
          name: containerName(name, n),
          hostname: n,
          image,
          cmd: nodeCommand(spec, n, ips),
          labels: { ...labels, [KIND_LABEL]: 'node', [NODE_LABEL]: n, [IP_LABEL]: ips[n] ?? '' },
          network: net,
          ipv4: ips[n] ?? '',
          aliases: [n],
          volumes: { [volumeName(name, n)]: DATA_DIR },
        });
        made.containers.push(id);
        return id;
      }),
    );
    nodes.forEach((n, i) => {
      (records[n] as Mutable<NodeRecord>).id = ids[i] ?? '';
    });
    await this.store.save(state);
    check();
    await settled(ids.map((id) => this.engine.startContainer(id)));
    const infos = await settled(ids.map((id) => this.engine.inspectContainer(id)));
    nodes.forEach((n, i) => {
      const pid = infos[i]?.pid ?? 0;
      if (pid > 0) state.applied[n] = { pid, rules: '', chains: false };
    });
    await this.store.save(state);
    check();
    return new DockerCluster(this, state);
  }

  async attach(name: string): Promise<DockerCluster> {
    const state = (await this.store.load(name)) ?? (await this.recoverState(name));
    if (state === undefined) {
      throw new ClusterError(
        `no cluster named ${name} on ${this.engine.address}: \`raftbed up --name ${name}\` first`,
      );
    }
    return new DockerCluster(this, state);
  }

  /**
   * Rebuilds a cluster's state from its labels when the state file is gone
   * (another machine user, a cleaned home): faults in force are then unknown,
   * and each namespace is read again before it is changed.
   */
  private async recoverState(name: string): Promise<ClusterState | undefined> {
    const nets = await this.engine.listNetworks(clusterLabels(name));
    const net = nets[0];
    if (net === undefined) return undefined;
    let spec: ClusterSpec;
    try {
      spec = JSON.parse(net.labels[SPEC_LABEL] ?? '') as ClusterSpec;
    } catch {
      return undefined;
    }
    const containers = await this.engine.listContainers(clusterLabels(name));
    const records: Record<NodeName, NodeRecord> = {};
    for (const c of containers) {
      const node = c.labels[NODE_LABEL];
      const ip = c.labels[IP_LABEL];
      if (node !== undefined && ip !== undefined)
        records[node] = { ip, container: c.name, id: c.id };
    }
    const faults = await this.readBackFaults(name, records);
    const state: ClusterState = {
      version: 1,
      name,
      backend: 'docker',
      networkId: net.id,
      network: net.name,
      subnet: net.subnets[0] ?? spec.subnet ?? '',
      image: spec.image ?? '',
      spec,
      nodes: records,
      ...faults,
      applied: {},
    };
    await this.store.save(state);
    return state;
  }

  /**
   * The faults in force, read back from the running nodes' namespaces (the
   * rules are tagged, delayers carry their arguments). A cut is applied at
   * both ends, so it is found even when one end is stopped.
   */
  private async readBackFaults(
    name: string,
    records: Readonly<Record<NodeName, NodeRecord>>,
  ): Promise<Pick<ClusterState, 'flaky' | 'slow' | 'partition'>> {
    const flaky: Record<NodeName, FlakySetting> = {};
    const slow: Record<NodeName, SlowSetting> = {};
    if (netnsProblem(this.engine.local) !== undefined) return { flaky, slow };
    const byIp = new Map(Object.entries(records).map(([n, r]) => [r.ip, n]));
    const cuts: Cut[] = [];
    for (const [node, rec] of Object.entries(records)) {
      const info = await this.engine.inspectContainer(rec.id);
      if (!info || info.pid <= 0) continue;
      const rules = readRules((await inNetns(info.pid, ['iptables', '-S'])).stdout, name);
      for (const ip of rules.dropFrom) {
        const from = byIp.get(ip);
        if (from !== undefined) cuts.push({ from, to: node });
      }
      for (const ip of rules.dropTo) {
        const to = byIp.get(ip);
        if (to !== undefined) cuts.push({ from: node, to });
      }
      if (rules.loss !== undefined) flaky[node] = { loss: rules.loss };
      const tag = delayerTag(name, node);
      const d = findDelayers(tag).find((x) => x.tag === tag);
      const delay = d?.argv ? delayerArgs(d.argv) : undefined;
      const tc = await inNetns(info.pid, ['tc', 'qdisc', 'show', 'dev', NODE_IFACE]);
      const rate = qdiscRate(tc.stdout);
      if (delay !== undefined || rate !== undefined) {
        slow[node] = {
          delayMs: delay?.delayMs ?? 0,
          jitterMs: delay?.jitterMs ?? 0,
          ...(rate !== undefined ? { rateKbit: rate } : {}),
        };
      }
    }
    const nodes = Object.keys(records);
    const normalized = normalizeCuts(cuts, nodes);
    if (normalized.length === 0) return { flaky, slow };
    const resolved = resolvePartition({ kind: 'cuts', cuts: normalized }, nodes);
    return {
      flaky,
      slow,
      partition: {
        ...resolved,
        description: `${resolved.description} (read back from the nodes)`,
        shape: { kind: 'cuts', cuts: normalized },
        since: new Date().toISOString(),
      },
    };
  }

  private async leftovers(name: string): Promise<{ total: number; summary: string }> {
    const labels = clusterLabels(name);
    const [c, n, v] = await Promise.all([
      this.engine.listContainers(labels),
      this.engine.listNetworks(labels),
      this.engine.listVolumes(labels),
    ]);
    return {
      total: c.length + n.length + v.length,
      summary: `${c.length} containers, ${n.length} networks, ${v.length} volumes`,
    };
  }

  /** Removes every object labelled with the cluster, and its helpers; nothing else. */
  private async removeObjects(name: string): Promise<DownReport> {
    const labels = clusterLabels(name);
    // Helpers first (they release what they hold), found by their tag whatever the state says.
    let helpers = 0;
    for (const d of findDelayers(`raftbed:${name}:`)) {
      if (await stopDelayer(d.pid, d.tag)) helpers++;
    }
    const containers = await this.engine.listContainers(labels);
    await Promise.all(containers.map((c) => this.engine.removeContainer(c.id)));
    const networks = await this.engine.listNetworks(labels);
    for (const n of networks) await this.engine.removeNetwork(n.id);
    const volumes = await this.engine.listVolumes(labels);
    await Promise.all(volumes.map((v) => this.engine.removeVolume(v.name)));
    return {
      containers: containers.length,
      networks: networks.length,
      volumes: volumes.length,
      helpers,
    };
  }

  async down(name: string): Promise<DownReport> {
    return this.store.locked(name, async () => {
      const report = await this.removeObjects(name);
      await this.store.remove(name);
      await this.store.removeFiles(name);
      return report;
    });
  }
}

/** The delayer's log for a node, next to the cluster's state. */
function delayerLog(store: StateStore, cluster: string, node: NodeName): string {
  return join(store.dir, `${cluster}.${node}.delayer.log`);
}

export class DockerCluster implements Cluster {
  readonly name: string;
  readonly nodes: readonly NodeName[];
  private readonly ips: Readonly<Record<NodeName, string>>;
  private readonly listeners = new Set<(e: ClusterEvent) => void>();
  private readonly engine: Engine;
  private readonly store: StateStore;

  constructor(
    private readonly backend: DockerBackend,
    initial: ClusterState,
  ) {
    this.engine = backend.engine;
    this.store = backend.store;
    this.name = initial.name;
    this.nodes = Object.keys(initial.nodes).sort(
      (a, b) => Number(a.slice(1)) - Number(b.slice(1)) || a.localeCompare(b),
    );
    this.ips = nodeRecordIps(initial.nodes);
  }

  address(node: NodeName): Address {
    const ip = this.ips[node];
    if (ip === undefined) throw this.unknownNode(node);
    return { host: ip, port: CLIENT_PORT };
  }

  onEvent(listener: (event: ClusterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: Omit<ClusterEvent, 'cluster' | 'time'>): void {
    const full: ClusterEvent = { cluster: this.name, time: new Date().toISOString(), ...event };
    for (const l of this.listeners) l(full);
  }

  /** Runs an action under the cluster's lock with begin/end events. */
  private async act(
    action: ClusterAction,
    nodes: readonly NodeName[],
    begin: string,
    fn: (state: ClusterState) => Promise<string>,
  ): Promise<void> {
    this.emit({ action, phase: 'begin', nodes, detail: begin });
    try {
      const detail = await this.store.locked(this.name, async () => {
        const state = await this.loadState();
        return fn(state);
      });
      this.emit({ action, phase: 'end', nodes, detail });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.emit({ action, phase: 'end', nodes, detail: begin, error: message });
      throw err;
    }
  }

  private async loadState(): Promise<ClusterState> {
    const state = await this.store.load(this.name);
    if (state === undefined) {
      throw new ClusterError(
        `cluster ${this.name} is gone (its state file ${this.store.path(this.name)} is missing)`,
      );
    }
    return state;
  }

  private unknownNode(node: string): UsageError {
    return new UsageError(
      `unknown node '${node}' (cluster ${this.name} has ${this.nodes.join(', ')})`,
    );
  }

  private targets(t: Targets): NodeName[] {
    if (t === 'all') return [...this.nodes];
    if (t.length === 0) throw new UsageError('name at least one node (or all)');
    for (const n of t) if (!this.nodes.includes(n)) throw this.unknownNode(n);
    return [...new Set(t)];
  }

  private record(state: ClusterState, node: NodeName): NodeRecord {
    const r = state.nodes[node];
    if (r === undefined) throw this.unknownNode(node);
    return r;
  }

  private requireNetns(): void {
    const problem = netnsProblem(this.engine.local);
    if (problem) throw new ClusterError(problem);
  }

  // ---- inspection ----

  private async inspect(state: ClusterState, node: NodeName): Promise<ContainerInfo | undefined> {
    const rec = this.record(state, node);
    return this.engine.inspectContainer(rec.id !== '' ? rec.id : rec.container);
  }

  /** The pid whose namespace is the node's, or 0 when the node is not running. */
  private async netnsPid(
    state: ClusterState,
    node: NodeName,
    applied: AppliedNet | undefined = state.applied[node],
  ): Promise<number> {
    const rec = this.record(state, node);
    const known = applied?.pid;
    if (known !== undefined && pidBelongsTo(known, rec.id)) return known;
    const info = await this.inspect(state, node);
    return info && (info.status === 'running' || info.status === 'paused') ? info.pid : 0;
  }

  async status(): Promise<ClusterStatus> {
    const state = await this.loadState();
    const infos = await Promise.all(this.nodes.map((n) => this.inspect(state, n)));
    const nodes: NodeStatus[] = await Promise.all(
      this.nodes.map(async (n, i): Promise<NodeStatus> => {
        const st = stateOf(infos[i]?.status);
        const address = this.address(n);
        const raft =
          st === 'running' ? await raftStatus(address.host, address.port, 500) : undefined;
        return {
          node: n,
          container: this.record(state, n).container,
          state: st,
          address,
          ...(raft ? { raft } : {}),
        };
      }),
    );
    return { name: this.name, image: state.image, nodes, faults: this.faultsOf(state, nodes) };
  }

  private faultsOf(state: ClusterState, nodes: readonly NodeStatus[]): FaultsInForce {
    return {
      ...(state.partition
        ? { partition: { description: state.partition.description, cuts: state.partition.cuts } }
        : {}),
      flaky: { ...state.flaky },
      slow: { ...state.slow },
      paused: nodes.filter((n) => n.state === 'paused').map((n) => n.node),
      stopped: nodes
        .filter((n) => n.state !== 'running' && n.state !== 'paused')
        .map((n) => n.node),
    };
  }

  async faults(): Promise<FaultsInForce> {
    const state = await this.loadState();
    const infos = await Promise.all(this.nodes.map((n) => this.inspect(state, n)));
    const nodes = this.nodes.map((n, i): NodeStatus => ({
      node: n,
      container: this.record(state, n).container,
      state: stateOf(infos[i]?.status),
      address: this.address(n),
    }));
    return this.faultsOf(state, nodes);
  }

  async leader(): Promise<NodeName | undefined> {
    const views = await Promise.all(
      this.nodes.map(async (n) => {
        const a = this.address(n);
        return { node: n, view: await raftStatus(a.host, a.port, 400) };
      }),
    );
    let best: { node: NodeName; term: number } | undefined;
    for (const { node, view } of views) {
      if (view?.role !== 'leader') continue;
      if (best === undefined || view.term > best.term) best = { node, term: view.term };
    }
    return best?.node;
  }

  async waitForLeader(timeoutMs: number): Promise<NodeName | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = await this.leader();
      if (l !== undefined || Date.now() >= deadline) return l;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async logs(node: NodeName, opts: { readonly tail?: number } = {}): Promise<string> {
    const state = await this.loadState();
    const rec = this.record(state, node);
    const out = await this.engine.logs(rec.id !== '' ? rec.id : rec.container, opts);
    return out.combined;
  }

  /** The container id to use with the engine (e.g. for `docker exec`-like calls). */
  async containerId(node: NodeName): Promise<string> {
    const state = await this.loadState();
    return this.record(state, node).id;
  }

  // ---- processes ----

  async kill(t: Targets): Promise<void> {
    const nodes = this.targets(t);
    await this.act('kill', nodes, `killing ${nodes.join(', ')}`, async (state) => {
      await this.killNodes(state, nodes);
      return `killed ${nodes.join(', ')} (SIGKILL; data kept)`;
    });
  }

  /** SIGKILL, wait until stopped, end the node's helpers; its faults stay recorded. */
  private async killNodes(state: ClusterState, nodes: readonly NodeName[]): Promise<void> {
    await Promise.all(
      nodes.map(async (n) => {
        const rec = this.record(state, n);
        await this.engine.killContainer(rec.id);
        await this.engine.waitStopped(rec.id);
        await this.dropHelpers(state, n);
        delete state.applied[n];
      }),
    );
    await this.store.save(state);
  }

  async start(t: Targets): Promise<void> {
    const nodes = this.targets(t);
    await this.act('start', nodes, `starting ${nodes.join(', ')}`, async (state) => {
      const reapplied = await this.startNodes(state, nodes);
      return `started ${nodes.join(', ')}${reapplied.length > 0 ? ` (faults re-applied on ${reapplied.join(', ')})` : ''}`;
    });
  }

  async restart(t: Targets): Promise<void> {
    const nodes = this.targets(t);
    await this.act('restart', nodes, `restarting ${nodes.join(', ')}`, async (state) => {
      await this.killNodes(state, nodes);
      const reapplied = await this.startNodes(state, nodes);
      return `restarted ${nodes.join(', ')} (SIGKILL, then start with the same data${reapplied.length > 0 ? `; faults re-applied on ${reapplied.join(', ')}` : ''})`;
    });
  }

  /** Starts containers and puts their faults back into their new namespaces at once. */
  private async startNodes(state: ClusterState, nodes: readonly NodeName[]): Promise<NodeName[]> {
    const reapplied: NodeName[] = [];
    const needsNet = nodes.some((n) => this.wantsAnything(state, n));
    if (needsNet) this.requireNetns();
    await Promise.all(
      nodes.map(async (n) => {
        const rec = this.record(state, n);
        let started: boolean;
        try {
          started = await this.engine.startContainer(rec.id);
        } catch (err) {
          if (err instanceof EngineError && /paused/i.test(err.message)) {
            throw new ClusterError(`cannot start ${n}: it is paused; unpause it`);
          }
          throw err;
        }
        // Already running: its namespace and what is in it stay as they are.
        if (!started) return;
        const info = await this.engine.inspectContainer(rec.id);
        const pid = info?.pid ?? 0;
        if (pid <= 0) {
          throw new ClusterError(
            `${rec.container} did not stay up (exit ${info?.exitCode ?? '?'}): see \`raftbed logs ${n} --name ${this.name}\``,
          );
        }
        // A fresh namespace: nothing of ours is in it yet.
        state.applied[n] = { pid, rules: '', chains: false };
        if (this.wantsAnything(state, n)) {
          await this.applyNode(state, n);
          reapplied.push(n);
        }
      }),
    );
    await this.store.save(state);
    return reapplied.sort();
  }

  async pause(t: Targets): Promise<void> {
    const nodes = this.targets(t);
    await this.act('pause', nodes, `pausing ${nodes.join(', ')}`, async (state) => {
      // Straight to the engine (no inspect first): its refusal says what the node is.
      await Promise.all(
        nodes.map(async (n) => {
          try {
            await this.engine.pauseContainer(this.record(state, n).id);
          } catch (err) {
            if (err instanceof EngineError && /already paused/i.test(err.message)) return;
            if (err instanceof EngineError && /not running|restarting/i.test(err.message)) {
              throw new ClusterError(`cannot pause ${n}: it is not running; start it first`);
            }
            throw err;
          }
        }),
      );
      return `paused ${nodes.join(', ')} (processes frozen)`;
    });
  }

  async unpause(t: Targets): Promise<void> {
    const nodes = this.targets(t);
    await this.act('unpause', nodes, `unpausing ${nodes.join(', ')}`, async (state) => {
      await Promise.all(
        nodes.map(async (n) => {
          try {
            await this.engine.unpauseContainer(this.record(state, n).id);
          } catch (err) {
            // Not paused (running or stopped) is what unpause wants.
            if (err instanceof EngineError && /not paused|not running/i.test(err.message)) return;
            throw err;
          }
        }),
      );
      return `unpaused ${nodes.join(', ')}`;
    });
  }

  // ---- network ----

  async partition(shape: PartitionShape): Promise<Partition> {
    let resolvedShape = shape;
    if (shape.kind === 'isolate-leader') {
      const leader = await this.leader();
      if (leader === undefined) {
        throw new ClusterError(`no node of ${this.name} says it leads: nothing to isolate`);
      }
      resolvedShape = { kind: 'isolate', node: leader };
    }
    const resolved = resolvePartition(resolvedShape, this.nodes);
    let result: Partition = resolved;
    await this.act(
      'partition',
      this.nodes,
      `partitioning ${resolved.description}`,
      async (state) => {
        this.requireNetns();
        state.partition = { ...resolved, shape: resolvedShape, since: new Date().toISOString() };
        await this.applyAll(state);
        result = resolved;
        return `partition ${resolved.description}: ${resolved.cuts.length} one-way links cut`;
      },
    );
    return result;
  }

  async heal(): Promise<void> {
    await this.act('heal', this.nodes, 'healing the network', async (state) => {
      const what = this.describeNetFaults(state);
      delete state.partition;
      state.flaky = {};
      state.slow = {};
      if (what === '') {
        const checked = await this.clearUnrecorded(state);
        return checked.length > 0
          ? `join: no network fault was recorded; cleared what raftbed had left on ${checked.join(', ')}`
          : `join: no network fault was in force on ${this.name}`;
      }
      this.requireNetns();
      await this.applyAll(state);
      return `join: healed ${what}`;
    });
  }

  async flaky(t: Targets, loss: number): Promise<void> {
    const nodes = this.targets(t);
    if (!(loss >= 0 && loss <= 1))
      throw new UsageError(`loss must be a fraction from 0 to 1, got ${loss}`);
    await this.act('flaky', nodes, `making ${nodes.join(', ')} lossy`, async (state) => {
      this.requireNetns();
      for (const n of nodes) {
        if (loss > 0) state.flaky[n] = { loss };
        else delete state.flaky[n];
      }
      await this.applyNodes(state, nodes);
      return `flaky: ${nodes.join(', ')} drop ${formatPct(loss)} of the packets they send`;
    });
  }

  async slow(t: Targets, opts: SlowOptions): Promise<void> {
    const nodes = this.targets(t);
    const jitterMs = opts.jitterMs ?? 0;
    if (
      !(opts.delayMs >= 0) ||
      !(jitterMs >= 0) ||
      (opts.rateKbit !== undefined && !(opts.rateKbit > 0))
    ) {
      throw new UsageError('delay and jitter must be >= 0 ms and rate > 0 kbit/s');
    }
    await this.act('slow', nodes, `slowing ${nodes.join(', ')}`, async (state) => {
      this.requireNetns();
      for (const n of nodes) {
        state.slow[n] = {
          delayMs: opts.delayMs,
          jitterMs,
          ...(opts.rateKbit !== undefined ? { rateKbit: opts.rateKbit } : {}),
        };
      }
      await this.applyNodes(state, nodes);
      const how = state.netem === true ? 'netem' : 'NFQUEUE delayer';
      const rate = opts.rateKbit !== undefined ? `, at most ${opts.rateKbit} kbit/s` : '';
      return `slow: ${nodes.join(', ')} delay what they send by ${opts.delayMs} ms ± ${jitterMs} ms${rate} (${how})`;
    });
  }

  async fast(): Promise<void> {
    await this.act('fast', this.nodes, 'removing loss and delay', async (state) => {
      const touched = [
        ...new Set([...Object.keys(state.flaky), ...Object.keys(state.slow)]),
      ].sort();
      state.flaky = {};
      state.slow = {};
      if (touched.length === 0) {
        const checked = await this.clearUnrecorded(state);
        return checked.length > 0
          ? `fast: no loss or delay was recorded; cleared what raftbed had left on ${checked.join(', ')}`
          : `fast: no loss or delay was in force on ${this.name}`;
      }
      this.requireNetns();
      await this.applyNodes(state, touched);
      return `fast: loss, delay and rate limits removed from ${touched.join(', ')}`;
    });
  }

  async down(): Promise<DownReport> {
    this.emit({
      action: 'down',
      phase: 'begin',
      nodes: this.nodes,
      detail: `removing ${this.name}`,
    });
    const report = await this.backend.down(this.name);
    this.emit({
      action: 'down',
      phase: 'end',
      nodes: this.nodes,
      detail: describeDown(this.name, report),
    });
    return report;
  }

  private describeNetFaults(state: ClusterState): string {
    const parts: string[] = [];
    if (state.partition) parts.push(`the partition ${state.partition.description}`);
    const lossy = Object.keys(state.flaky);
    if (lossy.length > 0) parts.push(`loss on ${lossy.join(', ')}`);
    const slow = Object.keys(state.slow);
    if (slow.length > 0) parts.push(`delay on ${slow.join(', ')}`);
    return parts.join(', ');
  }

  private wantsAnything(state: ClusterState, node: NodeName): boolean {
    const cuts = state.partition?.cuts ?? [];
    return (
      cuts.some((c) => c.from === node || c.to === node) ||
      state.flaky[node] !== undefined ||
      state.slow[node] !== undefined
    );
  }

  /**
   * With nothing recorded in force, still clears what may be there: nodes whose
   * namespace is not recorded (state rebuilt from labels after it was lost) or
   * where a command stopped half-way. Returns the nodes it checked.
   */
  private async clearUnrecorded(state: ClusterState): Promise<NodeName[]> {
    const check = this.nodes.filter((n) => {
      const a = state.applied[n];
      return (
        a === undefined ||
        a.rules !== '' ||
        a.delayer !== undefined ||
        a.qdisc !== undefined ||
        a.dirty === true
      );
    });
    if (check.length > 0) {
      this.requireNetns();
      await this.applyNodes(state, check);
    } else {
      await this.store.save(state);
    }
    return check.filter((n) => state.applied[n] !== undefined);
  }

  private async applyAll(state: ClusterState): Promise<void> {
    await this.applyNodes(state, this.nodes);
  }

  /**
   * Records the intent first (with the touched nodes marked dirty, so a crash
   * in between makes the next command read the namespace again), then brings
   * each node's namespace to it, then records what was applied.
   */
  private async applyNodes(state: ClusterState, nodes: readonly NodeName[]): Promise<void> {
    const before = new Map(nodes.map((n) => [n, state.applied[n]]));
    for (const n of nodes) {
      const a = state.applied[n];
      if (a !== undefined) state.applied[n] = { ...a, dirty: true };
    }
    await this.store.save(state);
    await Promise.all(nodes.map((n) => this.applyNode(state, n, before.get(n))));
    await this.store.save(state);
  }

  /** Brings one node's namespace to the state's intent; `prev` is what was there before. */
  private async applyNode(
    state: ClusterState,
    node: NodeName,
    prev: AppliedNet | undefined = state.applied[node],
  ): Promise<void> {
    const pid = await this.netnsPid(state, node, prev);
    if (pid <= 0) {
      // Not running: its faults are applied when it starts.
      delete state.applied[node];
      return;
    }
    const known = prev !== undefined && prev.pid === pid && prev.dirty !== true;
    const slow = state.slow[node];
    if (slow !== undefined && state.netem === undefined) {
      state.netem = process.env['RAFTBED_DELAY'] === 'nfqueue' ? false : await probeNetem(pid);
    }
    const plan = planQdisc(
      slow === undefined
        ? undefined
        : {
            delayMs: slow.delayMs,
            jitterMs: slow.jitterMs,
            ...(slow.rateKbit !== undefined ? { rateKbit: slow.rateKbit } : {}),
          },
      state.netem === true,
    );
    const body = chainBody(
      this.name,
      nodeNetFaults(
        node,
        this.ips,
        state.partition?.cuts ?? [],
        state.flaky[node]?.loss,
        plan.delayer,
      ),
    );
    const tag = delayerTag(this.name, node);

    // The delayer, the rules and the qdisc are independent (the rule that feeds
    // the delayer has --queue-bypass, so neither order drops a packet): all at once.
    const delayerStep = async (): Promise<DelayerRecord | undefined> => {
      const delayer = known ? prev.delayer : undefined;
      if (!known) {
        for (const d of findDelayers(tag)) if (d.tag === tag) await stopDelayer(d.pid, d.tag);
      }
      const want = plan.delayer && slow !== undefined;
      const same =
        delayer !== undefined &&
        want &&
        delayer.delayMs === slow.delayMs &&
        delayer.jitterMs === slow.jitterMs &&
        isDelayerAlive(delayer.pid, tag);
      if (same) return delayer;
      if (delayer !== undefined) await stopDelayer(delayer.pid, tag);
      if (!want) return undefined;
      const p = await startDelayer({
        netnsPid: pid,
        delayMs: slow.delayMs,
        jitterMs: slow.jitterMs,
        tag,
        logFile: delayerLog(this.store, this.name, node),
      });
      return { pid: p.pid, delayMs: slow.delayMs, jitterMs: slow.jitterMs };
    };

    // Our chains and their jumps, once made, stay until the container goes:
    // healing flushes the chains (every rule in them is ours), so the next
    // fault is one small transaction.
    const hadChains = known && (prev.chains === true || prev.rules !== '');
    const rulesStep = async (): Promise<boolean> => {
      if (known && prev.rules === body) return hadChains;
      let jumps = { in: hadChains, out: hadChains };
      let chains = hadChains;
      if (!known) {
        const scan = scanRules(
          (await inNetnsOk(pid, ['iptables', '-S'], `read rules of ${node}`)).stdout,
          this.name,
        );
        jumps = { in: scan.jumps.in, out: scan.jumps.out };
        chains = scan.chains;
      }
      if (body === '' && !chains && !jumps.in && !jumps.out) return false;
      const restore = (what: string, script: string): Promise<unknown> =>
        inNetnsOk(pid, ['iptables-restore', '--noflush'], `${what} ${node}`, script);
      if (jumps.in !== jumps.out) {
        await restore('reset rules of', removeScript(this.name, jumps));
        jumps = { in: false, out: false };
      }
      await restore('apply rules to', applyScript(this.name, body, jumps.in && jumps.out));
      return true;
    };

    // The qdisc: netem, or tbf for a rate without netem.
    const qdisc = plan.words?.join(' ');
    const qdiscStep = async (): Promise<void> => {
      if (known && prev.qdisc === qdisc) return;
      if (qdisc !== undefined || !known || prev.qdisc !== undefined)
        await setQdisc(pid, plan.words);
    };

    const [delayer, chains] = await Promise.all([delayerStep(), rulesStep(), qdiscStep()]);
    const next: Mutable<AppliedNet> = { pid, rules: body, chains };
    if (delayer !== undefined) next.delayer = delayer;
    if (qdisc !== undefined) next.qdisc = qdisc;
    state.applied[node] = next;
  }

  /** Ends a node's helpers (its container is going away). */
  private async dropHelpers(state: ClusterState, node: NodeName): Promise<void> {
    const tag = delayerTag(this.name, node);
    const d = state.applied[node]?.delayer;
    if (d !== undefined) await stopDelayer(d.pid, tag);
  }

  /** Runs a command in the node's namespace from the host (tests and diagnostics). */
  async netnsRun(
    node: NodeName,
    cmd: readonly string[],
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const state = await this.loadState();
    const pid = await this.netnsPid(state, node);
    return inNetns(pid, cmd);
  }
}

function formatPct(p: number): string {
  return `${Math.round(p * 1000) / 10}%`;
}

export function describeDown(name: string, r: DownReport): string {
  if (r.containers + r.networks + r.volumes + r.helpers === 0) {
    return `down: nothing of cluster ${name} was left`;
  }
  return `down: removed ${r.containers} containers, ${r.networks} network, ${r.volumes} volumes and ${r.helpers} helpers of cluster ${name}`;
}
