import { readFile } from 'node:fs/promises';
import type { Command } from '../command.js';

export const commands: Command[] = [
  {
    name: 'version',
    summary: 'print the raftbed version',
    help: 'usage: raftbed version\n\nPrints the version of this raftbed build.',
    async run(): Promise<number> {
      const pkg = JSON.parse(
        await readFile(new URL('../../../../package.json', import.meta.url), 'utf8'),
      ) as { version: string };
      process.stdout.write(`raftbed ${pkg.version}\n`);
      return 0;
    },
  },
];
