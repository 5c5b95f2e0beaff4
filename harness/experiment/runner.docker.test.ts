import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RespClient } from '../../node/kv/client.js';
import { readHistoryFile } from '../history/reader.js';
import { RespAdapter } from '../workload/resp-adapter.js';
import { adaptBackend } from './cluster-adapter.js';
import { RealClock } from './clock.js';
import { defaultExperiment, type Experiment } from './experiment.js';
import type { LinearizabilityResult } from './results.js';
import { runExperiment } from './runner.js';
import { loadDockerBackend } from './wiring.js';

/**
 * The runner, the nemesis and the Docker backend together on real containers
 * and real iptables rules, with stand-in nodes (stub-server.js: n1 serves, the
 * others answer -TRYAGAIN) so that nothing here depends on Raft.
 */
const out = mkdtempSync(join(tmpdir(), 'raftbed-runner-docker-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const CLUSTER = 'raftbed-exp-test';

function containers(): string[] {
  const text = execFileSync('docker', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' });
  return text.split('\n').filter((n) => n.startsWith(`${CLUSTER}-`));
}

describe('an experiment on Docker with stand-in nodes', () => {
  it('brings the cluster up, applies and heals every fault kind but kill, records all, tears down', async () => {
    const docker = await loadDockerBackend();
    const backend = adaptBackend(docker.backend, (name, nodes) => ({
      ...docker.defaultSpec(name, nodes),
      command: ['node', '/app/dist/harness/experiment/stub-server.js', '6379', '{id}', 'n1'],
    }));
    const base = defaultExperiment(7);
    const experiment: Experiment = {
      ...base,
      name: 'docker',
      nodes: 3,
      timeLimitS: 13,
      rate: 60,
      concurrency: 3,
      recoverS: 1,
      opTimeoutMs: 500,
      clientFailover: true,
      nemesis: {
        ...base.nemesis,
        kinds: ['partition', 'pause', 'flaky', 'slow'],
        order: 'cycle',
        partition: ['isolate-leader'],
        pause: ['leader'],
        slow: { delayMs: 30, jitterMs: 5, targets: ['leader'] },
        firstS: 1,
        faultS: 2,
        healS: 1.2,
      },
    };
    const { dir, results } = await runExperiment(
      { experiment, outDir: out, keep: false, clusterName: CLUSTER },
      {
        backend,
        adapter: (cluster, timeoutMs) =>
          new RespAdapter({
            timeoutMs,
            connect: (node) =>
              RespClient.connect({
                ...cluster.clientAddress(node),
                connectTimeoutMs: 500,
                commandTimeoutMs: timeoutMs,
              }),
          }),
        checkLinearizability: (_file, o) =>
          Promise.resolve<LinearizabilityResult>({
            valid: true,
            model: o.model,
            summary: 'not checked here',
          }),
        clock: new RealClock(),
        leaderWaitMs: 60_000,
      },
    );
    expect(results.faults.map((f) => [f.kind, f.error ?? null])).toEqual([
      ['partition', null],
      ['pause', null],
      ['flaky', null],
      ['slow', null],
    ]);
    expect(results.faults[0]?.description).toMatch(/^isolate-leader: n1 \| n2,n3/);
    expect(results.faults[1]?.description).toBe('pause n1');
    expect(results.warnings).toEqual([]);
    // n1 serves; a paused n1 makes clients time out, and every client fails over to it again.
    const { events } = readHistoryFile(join(dir, 'history.jsonl'));
    const done = events.filter((e) => e.process !== 'nemesis' && e.type !== 'invoke');
    expect(done.filter((e) => e.type === 'ok').length).toBeGreaterThan(200);
    expect(done.some((e) => e.type === 'info' && e.error === 'timeout')).toBe(true);
    expect(events.filter((e) => e.process === 'nemesis')).toHaveLength(8);
    expect(results.finalReads.ok).toBeGreaterThan(0);
    // Each node's log was collected and read.
    expect(readFileSync(join(dir, 'logs', 'n2.log'), 'utf8')).toContain('"event":"role"');
    expect(results.checks['node-logs']).toMatchObject({ valid: true, terms: 1, nodes: 3 });
    expect(containers()).toEqual([]);
  });
});
