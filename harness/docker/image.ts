import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Engine, Labels } from './engine.js';
import { offlineRootfs } from './offline-base.js';
import { repoRoot } from './repo.js';
import { tarStream } from './tar.js';
import type { TarEntry } from './tar.js';

/** The base where a registry answers. */
export const REGISTRY_BASE = 'node:20-bookworm-slim';
export const IMAGE_REPO = 'raftbed';
export const OFFLINE_BASE_REPO = 'raftbed-base';
/** Labels on every image raftbed builds, so they can be listed and told apart. */
export const IMAGE_LABEL = 'raftbed.image';
export const INPUTS_LABEL = 'raftbed.inputs';
export const COMMIT_LABEL = 'raftbed.commit';
export const BASE_ID_LABEL = 'raftbed.base-id';
export const DOCKERFILE_LABEL = 'raftbed.dockerfile';

export type BaseMode = 'auto' | 'registry' | 'offline';

export interface BaseImage {
  readonly ref: string;
  readonly id: string;
  readonly kind: 'registry' | 'offline';
}

export interface NodeImage {
  /** `raftbed:<12 hex of the inputs' hash>` */
  readonly ref: string;
  readonly id: string;
  /** sha256 over the Dockerfile, the base image id, package.json and every file of dist/. */
  readonly inputs: string;
  readonly base: BaseImage;
  /** False when an image with the same inputs already existed. */
  readonly built: boolean;
}

export interface ImageRequest {
  /** Folder holding the built `dist/` and `package.json`. */
  readonly root: string;
  /** Defaults to docker/Dockerfile of `root`, else of this checkout. */
  readonly dockerfile?: string;
  /** Defaults to $RAFTBED_BASE, else 'auto'. */
  readonly base?: BaseMode;
  readonly labels?: Labels;
  /** Progress for a human (stderr); the result is the return value. */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** How long the registry gets to answer before the offline path is taken. */
  readonly registryTimeoutMs?: number;
  /** A base already resolved by the caller. */
  readonly baseImage?: BaseImage;
}

export function baseModeFromEnv(): BaseMode {
  const v = process.env['RAFTBED_BASE'];
  if (v === undefined || v === '') return 'auto';
  if (v === 'auto' || v === 'registry' || v === 'offline') return v;
  throw new Error(`RAFTBED_BASE must be auto, registry or offline, got '${v}'`);
}

/**
 * Picks the base without waiting on a registry that does not answer:
 * a registry base already present wins, then an offline base already built for
 * this host's Node, then a registry that answers within the timeout (pulled),
 * and last a new offline base.
 */
export async function resolveBase(
  engine: Engine,
  opts: {
    readonly mode: BaseMode;
    readonly log?: (line: string) => void;
    readonly signal?: AbortSignal;
    readonly registryTimeoutMs?: number;
  },
): Promise<BaseImage> {
  const log = opts.log ?? (() => undefined);
  if (opts.mode !== 'offline') {
    const present = await engine.imageInfo(REGISTRY_BASE);
    if (present) return { ref: REGISTRY_BASE, id: present.id, kind: 'registry' };
  }
  if (opts.mode !== 'registry') {
    const rootfs = await offlineRootfs();
    const ref = `${OFFLINE_BASE_REPO}:${rootfs.key.slice(0, 12)}`;
    const present = await engine.imageInfo(ref);
    if (present) return { ref, id: present.id, kind: 'offline' };
    if (opts.mode === 'auto') {
      const answers = await engine.registryAnswers(REGISTRY_BASE, opts.registryTimeoutMs ?? 3000);
      if (answers) return pullRegistryBase(engine, log, opts.signal);
      log(`no registry answers for ${REGISTRY_BASE}: importing the host's Node runtime instead`);
    }
    log(`importing ${ref} from the host's node ${rootfs.nodeVersion}`);
    const id = await engine.importImage(tarStream(rootfs.entries), ref, [
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      'CMD ["node"]',
      `LABEL ${IMAGE_LABEL}=base raftbed.node-version=${rootfs.nodeVersion}`,
    ]);
    return { ref, id, kind: 'offline' };
  }
  return pullRegistryBase(engine, log, opts.signal);
}

async function pullRegistryBase(
  engine: Engine,
  log: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<BaseImage> {
  log(`pulling ${REGISTRY_BASE}`);
  await engine.pullImage(REGISTRY_BASE, signal ? { signal } : {});
  const info = await engine.imageInfo(REGISTRY_BASE);
  if (!info) throw new Error(`pulled ${REGISTRY_BASE} but the engine does not list it`);
  return { ref: REGISTRY_BASE, id: info.id, kind: 'registry' };
}

interface AppFile {
  readonly rel: string;
  readonly abs: string;
  readonly size: number;
  readonly sha256: string;
}

/** package.json and every file of dist/, sorted, each with its content hash. */
export async function appFiles(root: string): Promise<AppFile[]> {
  const dist = join(root, 'dist');
  if (!existsSync(join(dist, 'harness', 'cli', 'main.js'))) {
    throw new Error(`${dist} holds no built CLI: run \`npm run build\` in ${root} first`);
  }
  const found: string[] = [join(root, 'package.json')];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (e.isFile()) found.push(abs);
    }
  };
  await walk(dist);
  const files: AppFile[] = [];
  for (const abs of found) {
    const rel = relative(root, abs).split(sep).join('/');
    const sha256 = await hashFile(abs);
    files.push({ rel, abs, size: (await stat(abs)).size, sha256 });
  }
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The image's identity: what goes into it, and the labels the caller asks for (e.g. a commit). */
export function inputsHash(
  dockerfile: Buffer,
  baseId: string,
  files: readonly AppFile[],
  labels: Labels = {},
): string {
  const h = createHash('sha256');
  h.update('raftbed-image-v1\0');
  h.update(dockerfile);
  h.update(`\0${baseId}\0`);
  for (const f of files) h.update(`${f.rel}\0${f.sha256}\n`);
  for (const [k, v] of Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    h.update(`label\0${k}\0${v}\n`);
  }
  return h.digest('hex');
}

export function defaultDockerfile(root: string): string {
  const own = join(root, 'docker', 'Dockerfile');
  return existsSync(own) ? own : join(repoRoot(), 'docker', 'Dockerfile');
}

/** The node image of `root`'s dist/: found by its inputs' hash, built only when missing. */
export async function ensureImage(engine: Engine, req: ImageRequest): Promise<NodeImage> {
  const log = req.log ?? (() => undefined);
  const dockerfilePath = req.dockerfile ?? defaultDockerfile(req.root);
  const dockerfile = await readFile(dockerfilePath);
  const files = await appFiles(req.root);
  const base =
    req.baseImage ??
    (await resolveBase(engine, {
      mode: req.base ?? baseModeFromEnv(),
      log,
      ...(req.signal ? { signal: req.signal } : {}),
      ...(req.registryTimeoutMs !== undefined ? { registryTimeoutMs: req.registryTimeoutMs } : {}),
    }));
  const inputs = inputsHash(dockerfile, base.id, files, req.labels);
  const ref = `${IMAGE_REPO}:${inputs.slice(0, 12)}`;
  const existing = await engine.imageInfo(ref);
  if (existing && existing.labels[INPUTS_LABEL] === inputs) {
    return { ref, id: existing.id, inputs, base, built: false };
  }
  log(`building ${ref} on ${base.ref} (${files.length} files)`);
  const context: TarEntry[] = [
    { type: 'file', path: 'Dockerfile', data: dockerfile },
    ...files.map((f): TarEntry => ({
      type: 'file',
      path: f.rel,
      source: f.abs,
      size: f.size,
      mode: 0o644,
    })),
  ];
  const id = await engine.buildImage(tarStream(context), {
    tag: ref,
    buildArgs: { BASE: base.ref },
    labels: {
      ...req.labels,
      [IMAGE_LABEL]: 'node',
      [INPUTS_LABEL]: inputs,
      [BASE_ID_LABEL]: base.id,
      [DOCKERFILE_LABEL]: sha256(dockerfile),
    },
    ...(req.signal ? { signal: req.signal } : {}),
  });
  return { ref, id, inputs, base, built: true };
}
