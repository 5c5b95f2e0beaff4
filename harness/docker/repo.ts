import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The raftbed checkout this code runs from: the nearest folder above this file
 * whose package.json is raftbed's. The same answer from `dist/harness/docker`
 * (the built CLI) and from `harness/docker` (tests run from the sources).
 */
export function repoRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
        if (name === 'raftbed') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    if (dirname(dir) === dir) {
      throw new Error(`no raftbed package.json above ${from}`);
    }
  }
}
