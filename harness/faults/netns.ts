import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/**
 * Runs host programs (iptables, tc, the delayer) inside a container's network
 * namespace with nsenter, so the image needs neither iptables nor NET_ADMIN.
 * This needs the engine on this host and root; an engine inside a VM (Docker
 * Desktop) cannot be entered this way.
 */
export class NetnsError extends Error {
  override readonly name = 'NetnsError';
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Why network faults cannot be applied from here, or undefined when they can. */
export function netnsProblem(engineLocal: boolean): string | undefined {
  if (!engineLocal) {
    return 'network faults enter each container namespace from the host, which needs the engine on this host (a local unix socket); this engine is remote or inside a VM';
  }
  if (process.getuid?.() !== 0) {
    return 'network faults run nsenter and iptables inside container namespaces, which needs root: run with sudo';
  }
  for (const tool of ['nsenter', 'iptables', 'iptables-restore']) {
    if (!onPath(tool)) {
      return `network faults need '${tool}' on this host: sudo apt-get install -y ${tool === 'nsenter' ? 'util-linux' : 'iptables'}`;
    }
  }
  return undefined;
}

export function onPath(tool: string): boolean {
  const dirs = (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return [...dirs, '/usr/sbin', '/sbin'].some((d) => d !== '' && existsSync(`${d}/${tool}`));
}

/** Runs `cmd` in the network namespace of process `pid`; never rejects on a non-zero exit. */
export function inNetns(pid: number, cmd: readonly string[], input?: string): Promise<RunResult> {
  if (!Number.isInteger(pid) || pid <= 0) {
    return Promise.reject(new NetnsError(`no running process to enter (pid ${pid})`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['-t', String(pid), '-n', '--', ...cmd], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` },
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (err) => reject(new NetnsError(`nsenter: ${err.message}`)));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like inNetns, but a non-zero exit is an error naming the command and what it said. */
export async function inNetnsOk(
  pid: number,
  cmd: readonly string[],
  what: string,
  input?: string,
): Promise<RunResult> {
  const r = await inNetns(pid, cmd, input);
  if (r.code !== 0) {
    throw new NetnsError(`${what}: ${cmd.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return r;
}

/**
 * True when `pid` is still the first process of container `containerId`:
 * its cgroup names the container. Saves asking the engine on every fault.
 */
export function pidBelongsTo(pid: number, containerId: string): boolean {
  if (pid <= 0 || containerId === '') return false;
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(containerId);
  } catch {
    return false;
  }
}
