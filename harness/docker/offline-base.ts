import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { TarEntry } from './tar.js';

const run = promisify(execFile);

/**
 * A root filesystem holding only the host's Node runtime and the shared
 * libraries it links: imported as an image, it runs `node` with no registry.
 * Files keep the paths the dynamic loader looks for, so nothing is patched.
 */
export interface OfflineRootfs {
  readonly entries: readonly TarEntry[];
  /** Changes with the runtime: its version, and every copied file's path, size and time. */
  readonly key: string;
  readonly nodeVersion: string;
}

/** Parses `ldd` output into the absolute paths of the libraries and the loader. */
export function parseLdd(text: string): string[] {
  const paths = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('linux-vdso') || line.includes('not a dynamic')) continue;
    const arrow = /=>\s*(\/\S+)/.exec(line);
    if (arrow?.[1]) {
      paths.add(arrow[1]);
      continue;
    }
    const bare = /^(\/\S+)\s+\(/.exec(line);
    if (bare?.[1]) paths.add(bare[1]);
    if (/=>\s*not found/.test(line)) {
      throw new Error(`the host's node needs a library that is missing: ${line}`);
    }
  }
  return [...paths];
}

export async function offlineRootfs(nodeBinary: string = process.execPath): Promise<OfflineRootfs> {
  if (process.platform !== 'linux') {
    throw new Error(
      `the offline base copies the host's node into a Linux image; this host is ${process.platform}`,
    );
  }
  const node = await realpath(nodeBinary);
  const { stdout: ldd } = await run('ldd', [node]);
  const { stdout: version } = await run(node, ['--version']);
  const libs = parseLdd(ldd);

  const files: { dest: string; source: string; mode: number }[] = [
    { dest: '/usr/local/bin/node', source: node, mode: 0o755 },
    ...libs.map((p) => ({ dest: p, source: p, mode: 0o755 })),
  ];
  const dirs = new Set<string>(['/tmp', '/etc', '/data', '/app', '/root', '/usr/local/bin']);
  for (const f of files) {
    for (let d = dirname(f.dest); d !== '/'; d = dirname(d)) dirs.add(d);
  }
  for (const d of [...dirs]) {
    for (let p = dirname(d); p !== '/'; p = dirname(p)) dirs.add(p);
  }

  const hash = createHash('sha256').update(version.trim());
  const entries: TarEntry[] = [...dirs]
    .sort()
    .map((d) => ({ type: 'dir', path: d.slice(1), mode: d === '/tmp' ? 0o1777 : 0o755 }));
  for (const f of files) {
    // Copy the file a symlink points at under the name the loader asks for.
    const real = await realpath(f.source);
    const st = await stat(real);
    hash.update(`${f.dest}\0${st.size}\0${st.mtimeMs}\n`);
    entries.push({
      type: 'file',
      path: f.dest.slice(1),
      mode: f.mode,
      source: real,
      size: st.size,
    });
  }
  const text = (path: string, body: string): TarEntry => ({
    type: 'file',
    path,
    mode: 0o644,
    data: Buffer.from(body),
  });
  entries.push(
    text('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n'),
    text('etc/group', 'root:x:0:\nnogroup:x:65534:\n'),
    text('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n'),
  );
  return { entries, key: hash.digest('hex'), nodeVersion: version.trim() };
}
