import { CHAIN_IN, CHAIN_OUT, clusterTag } from './rules.js';

/**
 * Reads back what raftbed put into a namespace, for when the state file that
 * recorded it is gone: the rules carry the cluster's tag and say which peers
 * are cut and how lossy the node is; a delayer's arguments say its delay.
 */
export interface ReadBack {
  readonly dropFrom: readonly string[];
  readonly dropTo: readonly string[];
  readonly loss?: number;
  readonly queue: boolean;
}

export function readRules(iptablesS: string, cluster: string): ReadBack {
  const tag = clusterTag(cluster);
  const dropFrom: string[] = [];
  const dropTo: string[] = [];
  let loss: number | undefined;
  let queue = false;
  for (const line of iptablesS.split('\n')) {
    if (!line.includes(`"${tag}:`) && !line.includes(` ${tag}:`)) continue;
    const src = /-s (\d+\.\d+\.\d+\.\d+)(\/32)? /.exec(line)?.[1];
    const dst = /-d (\d+\.\d+\.\d+\.\d+)(\/32)? /.exec(line)?.[1];
    if (line.startsWith(`-A ${CHAIN_IN} `) && src !== undefined && line.endsWith('-j DROP')) {
      dropFrom.push(src);
    } else if (
      line.startsWith(`-A ${CHAIN_OUT} `) &&
      dst !== undefined &&
      line.endsWith('-j DROP')
    ) {
      dropTo.push(dst);
    } else if (line.startsWith(`-A ${CHAIN_OUT} `) && line.includes('-m statistic')) {
      const p = Number(/--probability ([0-9.]+)/.exec(line)?.[1]);
      if (Number.isFinite(p)) loss = Math.round(p * 1e6) / 1e6;
    } else if (line.startsWith(`-A ${CHAIN_OUT} `) && line.includes('-j NFQUEUE')) {
      queue = true;
    }
  }
  return { dropFrom, dropTo, ...(loss !== undefined ? { loss } : {}), queue };
}

/** The delay and jitter a delayer was started with, from its argv. */
export function delayerArgs(
  argv: readonly string[],
): { delayMs: number; jitterMs: number } | undefined {
  const num = (flag: string): number | undefined => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? Number(argv[i + 1]) : NaN;
    return Number.isFinite(v) ? v : undefined;
  };
  const delayMs = num('--delay-ms');
  if (delayMs === undefined) return undefined;
  return { delayMs, jitterMs: num('--jitter-ms') ?? 0 };
}

/** The rate of a tbf or netem root qdisc from `tc qdisc show`, in kbit/s. */
export function qdiscRate(tcShow: string): number | undefined {
  const m = /qdisc (?:tbf|netem) .*?\brate (\d+(?:\.\d+)?)([KMG]?)bit/i.exec(tcShow);
  if (!m) return undefined;
  const scale: Record<string, number> = { '': 0.001, K: 1, M: 1000, G: 1_000_000 };
  return Math.round(Number(m[1]) * (scale[(m[2] ?? '').toUpperCase()] ?? 1));
}
