import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../docker/repo.js';
import { inNetns, NetnsError } from './netns.js';
import { DELAY_QUEUE } from './rules.js';

const run = promisify(execFile);

/**
 * Delay and rate limits for one node's outgoing packets.
 *
 * Where the kernel has netem, `tc qdisc ... netem delay D J [rate R]` does it.
 * Where it has not (this project's CI kernel), a small C program on
 * libnetfilter_queue (delayer/delayer.c) runs inside the node's network
 * namespace, entered from the host with nsenter, and holds each queued packet
 * for its delay; the iptables rule that feeds it uses --queue-bypass, so a
 * delayer that died lets packets through rather than dropping them. Rate
 * limits without netem use tbf.
 *
 * Delayers are host processes, started detached, recorded in the cluster's
 * state by pid, and carry `--tag raftbed:<cluster>:<node>` so they are found
 * again from /proc when the state is gone. Each watches its container's first
 * process and exits when that is gone.
 */

export const DELAYER_NAME = 'raftbed-delayer';

export function delayerTag(cluster: string, node: string): string {
  return `raftbed:${cluster}:${node}`;
}

/** Where the Makefile builds the delayer (and where the harness builds it when missing). */
export function delayerPath(): string {
  const explicit = process.env['RAFTBED_DELAYER'];
  if (explicit !== undefined && explicit !== '') return explicit;
  return join(repoRoot(), '.raftbed', 'bin', DELAYER_NAME);
}

export function delayerSource(): string {
  return join(repoRoot(), 'harness', 'faults', 'delayer', 'delayer.c');
}

/** The delayer binary, compiled with gcc first when missing or older than its source. */
let building: Promise<string> | undefined;

/**
 * The delayer binary, compiled first when missing or older than its source. Calls
 * made while a build runs share it, and the binary appears by rename, so no caller
 * (in this process or another) ever executes a half-written file.
 */
export function ensureDelayer(): Promise<string> {
  building ??= buildDelayer().finally(() => {
    building = undefined;
  });
  return building;
}

async function buildDelayer(): Promise<string> {
  const bin = delayerPath();
  const src = delayerSource();
  const stale =
    !existsSync(bin) || (existsSync(src) && statSync(src).mtimeMs > statSync(bin).mtimeMs);
  if (!stale) return bin;
  if (!existsSync(src)) throw new NetnsError(`the delayer is missing (${bin}) and so is ${src}`);
  mkdirSync(join(bin, '..'), { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await run('gcc', ['-O2', '-Wall', '-o', tmp, src, '-lnetfilter_queue', '-lnfnetlink']);
    renameSync(tmp, bin);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new NetnsError(
      'slow needs netem or the NFQUEUE delayer, and the delayer could not be built ' +
        '(sudo apt-get install -y gcc libnetfilter-queue-dev, then make build): ' +
        (err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : String(err)),
    );
  }
  return bin;
}

export interface DelayerProcess {
  readonly pid: number;
  readonly tag: string;
  /** Its command line (empty for one this process just started). */
  readonly argv?: readonly string[];
}

/** Starts a delayer in the namespace of `netnsPid`; resolves once its queue is bound. */
export async function startDelayer(opts: {
  readonly netnsPid: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly tag: string;
  readonly logFile: string;
}): Promise<DelayerProcess> {
  const bin = await ensureDelayer();
  mkdirSync(join(opts.logFile, '..'), { recursive: true });
  const log = openSync(opts.logFile, 'a');
  const args = [
    '-t',
    String(opts.netnsPid),
    '-n',
    '--',
    bin,
    '--queue',
    String(DELAY_QUEUE),
    '--delay-ms',
    String(Math.round(opts.delayMs)),
    '--jitter-ms',
    String(Math.round(opts.jitterMs)),
    '--watch-pid',
    String(opts.netnsPid),
    '--tag',
    opts.tag,
  ];
  // nsenter without --fork execs the delayer, so the child's pid is the delayer's.
  const child = spawn('nsenter', args, { detached: true, stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  const pid = child.pid;
  const stdout = child.stdout;
  if (pid === undefined || stdout === null) {
    throw new NetnsError('could not start the delayer (nsenter)');
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () =>
          reject(
            new NetnsError(`the delayer did not bind its queue in 5 s (log: ${opts.logFile})`),
          ),
        5000,
      );
      stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(
          new NetnsError(
            `the delayer exited (${code}): ${tail(opts.logFile)} (log: ${opts.logFile})`,
          ),
        );
      });
    });
  } catch (err) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    throw err;
  }
  stdout.destroy();
  child.removeAllListeners();
  child.unref();
  return { pid, tag: opts.tag };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-2).join(' ');
  } catch {
    return '';
  }
}

function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

function tagOf(argv: readonly string[]): string | undefined {
  if (!(argv[0] ?? '').endsWith(DELAYER_NAME)) return undefined;
  const i = argv.indexOf('--tag');
  return i >= 0 ? argv[i + 1] : undefined;
}

/** True when `pid` is a live delayer carrying `tag`. */
export function isDelayerAlive(pid: number, tag: string): boolean {
  const argv = cmdline(pid);
  return argv !== undefined && tagOf(argv) === tag && !isZombie(pid);
}

/** Every delayer on this host whose tag starts with `prefix` (e.g. `raftbed:<cluster>:`). */
export function findDelayers(prefix: string): DelayerProcess[] {
  const found: DelayerProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const argv = cmdline(pid);
    const tag = argv ? tagOf(argv) : undefined;
    if (argv !== undefined && tag !== undefined && tag.startsWith(prefix)) {
      found.push({ pid, tag, argv });
    }
  }
  return found;
}

/**
 * Ends a delayer, but only if `pid` is still a delayer with this tag (a pid can
 * be reused). It releases its held packets on SIGTERM; SIGKILL after 1 s.
 */
export async function stopDelayer(pid: number, tag: string): Promise<boolean> {
  const argv = cmdline(pid);
  if (!argv || tagOf(argv) !== tag) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  // It exits within a millisecond or two; poll finely, then coarsely, for at most 1 s.
  for (let waited = 0; waited < 1000;) {
    if (cmdline(pid) === undefined || isZombie(pid)) return true;
    const step = waited < 50 ? 1 : 20;
    await new Promise((r) => setTimeout(r, step));
    waited += step;
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  return true;
}

function isZombie(pid: number): boolean {
  try {
    return /\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

// ---- tc ----

export interface QdiscPlan {
  /** The tc words after `tc qdisc replace dev IFACE root`; undefined: no qdisc of ours. */
  readonly words?: readonly string[];
  /** Whether the NFQUEUE delayer is needed on top. */
  readonly delayer: boolean;
}

/** What to set for a slow setting, with or without netem. */
export function planQdisc(
  slow:
    { readonly delayMs: number; readonly jitterMs: number; readonly rateKbit?: number } | undefined,
  netem: boolean,
): QdiscPlan {
  if (slow === undefined) return { delayer: false };
  const rate = slow.rateKbit;
  if (netem) {
    const words = ['netem', 'delay', `${slow.delayMs}ms`];
    if (slow.jitterMs > 0) words.push(`${slow.jitterMs}ms`);
    if (rate !== undefined) words.push('rate', `${rate}kbit`);
    return { words, delayer: false };
  }
  const delayer = slow.delayMs > 0 || slow.jitterMs > 0;
  if (rate === undefined) return { delayer };
  // burst must hold at least one full frame and a tick's worth of bytes.
  const burst = Math.max(1600, Math.ceil((rate * 1000) / 8 / 100));
  return {
    words: ['tbf', 'rate', `${rate}kbit`, 'burst', String(burst), 'latency', '400ms'],
    delayer,
  };
}

export const NODE_IFACE = 'eth0';

export async function setQdisc(pid: number, words: readonly string[] | undefined): Promise<void> {
  if (words === undefined) {
    const r = await inNetns(pid, ['tc', 'qdisc', 'del', 'dev', NODE_IFACE, 'root']);
    // No qdisc of ours there is what we want.
    if (
      r.code !== 0 &&
      !/No such file|Cannot delete qdisc with handle of zero|not found/i.test(r.stderr)
    ) {
      throw new NetnsError(`tc qdisc del dev ${NODE_IFACE} root: ${r.stderr.trim()}`);
    }
    return;
  }
  const r = await inNetns(pid, ['tc', 'qdisc', 'replace', 'dev', NODE_IFACE, 'root', ...words]);
  if (r.code !== 0) {
    throw new NetnsError(
      `tc qdisc replace dev ${NODE_IFACE} root ${words.join(' ')}: ${r.stderr.trim()}`,
    );
  }
}

/** Tries netem once in the namespace of `pid`; the answer is kept in the cluster's state. */
export async function probeNetem(pid: number): Promise<boolean> {
  const r = await inNetns(pid, [
    'tc',
    'qdisc',
    'replace',
    'dev',
    'lo',
    'root',
    'netem',
    'delay',
    '0ms',
  ]);
  if (r.code !== 0) return false;
  await inNetns(pid, ['tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
  return true;
}
