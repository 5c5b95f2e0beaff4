import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { COMMIT_LABEL, ensureImage, IMAGE_LABEL } from './image.js';
import { repoRoot } from './repo.js';

const run = promisify(execFile);
const LABELS = { 'raftbed.cluster': 'rbh-image' };
let engine: Engine;
let image: string;

/** Runs a one-off container of the image to its end; returns its exit code and output. */
async function runInImage(cmd: string[]): Promise<{ code: number; out: string }> {
  const id = await engine.createContainer({
    name: `rbh-image-${Date.now()}`,
    image,
    cmd,
    labels: LABELS,
  });
  try {
    await engine.startContainer(id);
    await engine.waitStopped(id);
    const info = await engine.inspectContainer(id);
    const logs = await engine.logs(id);
    return { code: info?.exitCode ?? -1, out: logs.combined };
  } finally {
    await engine.removeContainer(id);
  }
}

beforeAll(async () => {
  engine = await Engine.connect();
  image = (await ensureImage(engine, { root: repoRoot() })).ref;
});

afterAll(async () => {
  for (const c of await engine.listContainers(LABELS)) await engine.removeContainer(c.id);
});

describe('node image', () => {
  it('is found again by the hash of its inputs, not rebuilt', async () => {
    const again = await ensureImage(engine, { root: repoRoot() });
    expect(again.ref).toBe(image);
    expect(again.built).toBe(false);
    expect(image).toMatch(/^raftbed:[0-9a-f]{12}$/);
    const info = await engine.imageInfo(image);
    expect(info?.labels[IMAGE_LABEL]).toBe('node');
  });

  it('runs the CLI with no node_modules in it', async () => {
    const help = await runInImage(['node', '/app/dist/harness/cli/main.js', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/usage: raftbed COMMAND/);
    const node = await runInImage(['node', '/app/dist/harness/cli/main.js', 'node', '--help']);
    expect(node.code).toBe(0);
    expect(node.out).toMatch(/--peers/);
    const modules = await runInImage([
      'node',
      '-e',
      "process.exit(require('fs').existsSync('/app/node_modules') ? 1 : 0)",
    ]);
    expect(modules.code).toBe(0);
  });

  it('exec separates stdout from stderr and reports the exit code', async () => {
    const id = await engine.createContainer({
      name: `rbh-image-exec-${Date.now()}`,
      image,
      cmd: ['node', '-e', 'setInterval(() => {}, 1e9)'],
      labels: LABELS,
    });
    try {
      await engine.startContainer(id);
      const r = await engine.exec(id, [
        'node',
        '-e',
        "process.stdout.write('out'.repeat(5000)); console.error('err'); process.exit(3)",
      ]);
      expect(r.exitCode).toBe(3);
      expect(r.stdout).toBe('out'.repeat(5000));
      expect(r.stderr).toBe('err\n');
    } finally {
      await engine.removeContainer(id);
    }
  });

  it('gives up on a registry that does not answer', async () => {
    expect(await engine.registryAnswers('127.0.0.1:9/raftbed/none:1', 3000)).toBe(false);
  });

  it('build --ref builds a commit into an image labelled with it, then reuses it', async () => {
    const root = repoRoot();
    const head = (await run('git', ['-C', root, 'rev-parse', 'HEAD'])).stdout.trim();
    const cli = `${root}/dist/harness/cli/main.js`;
    const first = await run(process.execPath, [cli, 'build', '--ref', 'HEAD', '--json'], {
      cwd: root,
    });
    const built = JSON.parse(first.stdout) as { image: string; commit: string };
    expect(built.commit).toBe(head);
    expect((await engine.imageInfo(built.image))?.labels[COMMIT_LABEL]).toBe(head);
    const second = await run(process.execPath, [cli, 'build', '--ref', 'HEAD'], { cwd: root });
    expect(second.stdout.trim()).toBe(built.image);
    expect(second.stderr).not.toMatch(/compiling/);
  });

  it('build --ref names a ref that does not exist', async () => {
    const cli = `${repoRoot()}/dist/harness/cli/main.js`;
    const err = await run(process.execPath, [cli, 'build', '--ref', 'no-such-ref-xyz']).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err?.code).toBe(3);
    expect(err?.stderr.trim()).toMatch(/'no-such-ref-xyz' names no commit/);
  });
});
