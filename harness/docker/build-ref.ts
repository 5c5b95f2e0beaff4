import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Engine } from './engine.js';
import {
  BASE_ID_LABEL,
  COMMIT_LABEL,
  DOCKERFILE_LABEL,
  INPUTS_LABEL,
  baseModeFromEnv,
  defaultDockerfile,
  ensureImage,
  resolveBase,
  sha256,
} from './image.js';
import type { BaseMode, NodeImage } from './image.js';

const run = promisify(execFile);

export interface RefBuild {
  readonly repo: string;
  readonly ref: string;
  readonly base?: BaseMode;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface RefImage extends NodeImage {
  readonly commit: string;
}

/** The full commit a git ref names, or an Error naming the ref. */
export async function resolveCommit(repo: string, ref: string): Promise<string> {
  try {
    const { stdout } = await run('git', ['-C', repo, 'rev-parse', '--verify', `${ref}^{commit}`]);
    return stdout.trim();
  } catch {
    throw new Error(`raftbed build: '${ref}' names no commit in ${repo}`);
  }
}

/**
 * Builds the node image of another commit: its tree is exported with
 * `git archive` into a temporary folder (the repository's worktrees are left
 * alone), its dependencies installed (the current node_modules is reused when
 * the lock file is the same), compiled, and imaged. The folder is removed
 * whatever happens, including on Ctrl-C (via `signal`).
 */
export async function buildRef(engine: Engine, req: RefBuild): Promise<RefImage> {
  const log = req.log ?? (() => undefined);
  const commit = await resolveCommit(req.repo, req.ref);
  const dir = await mkdtemp(join(tmpdir(), `raftbed-build-${commit.slice(0, 8)}-`));
  try {
    log(`exporting ${req.ref} (${commit.slice(0, 12)}) to ${dir}`);
    await pipeArchive(req.repo, commit, dir, req.signal);
    const base = await resolveBase(engine, {
      mode: req.base ?? baseModeFromEnv(),
      log,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const dockerfile = defaultDockerfile(dir);
    const dockerfileSha = sha256(await readFile(dockerfile));
    // A commit's tree never changes: an image built from it on the same base and
    // Dockerfile is reused without compiling again.
    const cached = await engine.listImages({
      [COMMIT_LABEL]: commit,
      [BASE_ID_LABEL]: base.id,
      [DOCKERFILE_LABEL]: dockerfileSha,
    });
    const hit = cached.find((i) => i.tags.length > 0);
    const inputs = hit?.labels[INPUTS_LABEL];
    if (hit?.tags[0] !== undefined && inputs !== undefined) {
      return { ref: hit.tags[0], id: hit.id, inputs, base, built: false, commit };
    }
    const lock = join(dir, 'package-lock.json');
    const sameLock =
      existsSync(lock) &&
      existsSync(join(req.repo, 'node_modules')) &&
      (await readFile(lock, 'utf8')) ===
        (await readFile(join(req.repo, 'package-lock.json'), 'utf8').catch(() => ''));
    if (sameLock) {
      await symlink(join(req.repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    } else {
      log('installing its dependencies (npm ci)');
      await step('npm', ['ci', '--no-audit', '--no-fund'], dir, req.signal);
    }
    log('compiling');
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
    await step(process.execPath, [tsc, '-p', 'tsconfig.build.json'], dir, req.signal);
    const image = await ensureImage(engine, {
      root: dir,
      dockerfile,
      baseImage: base,
      labels: { [COMMIT_LABEL]: commit },
      log,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    return { ...image, commit };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function pipeArchive(
  repo: string,
  commit: string,
  dir: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const archive = spawn('git', ['-C', repo, 'archive', '--format=tar', commit], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(signal ? { signal } : {}),
  });
  const untar = spawn('tar', ['-x', '-C', dir], {
    stdio: ['pipe', 'ignore', 'pipe'],
    ...(signal ? { signal } : {}),
  });
  archive.stdout.pipe(untar.stdin);
  const done = (p: ReturnType<typeof spawn>, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      let err = '';
      p.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      p.on('error', reject);
      p.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`${what} failed (${code}): ${err.trim()}`)),
      );
    });
  await Promise.all([done(archive, 'git archive'), done(untar, 'tar -x')]);
}

async function step(
  cmd: string,
  args: readonly string[],
  cwd: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `${[cmd, ...args].join(' ')} failed in ${cwd} (exit ${code}):\n${out.trim().split('\n').slice(-20).join('\n')}`,
            ),
          ),
    );
  });
}
