import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from './command.js';
import { SetupError, UsageError, EXIT } from './errors.js';

// Every file in commands/ exports `commands: Command[]`; adding a subcommand is
// adding a file. Command modules import their heavy dependencies inside run(),
// so loading them all for dispatch stays cheap (a container starts `raftbed node`).
const HELP_ORDER = [
  'node',
  'sim',
  'check',
  'build',
  'up',
  'down',
  'status',
  'logs',
  'partition',
  'join',
  'pause',
  'unpause',
  'kill',
  'start',
  'restart',
  'flaky',
  'slow',
  'fast',
  'run',
  'report',
  'compare',
];

async function loadCommands(): Promise<Map<string, Command>> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = (await readdir(dir)).filter(
    (f) => /\.(js|ts)$/.test(f) && !/\.(d|test)\.ts$/.test(f),
  );
  const found = new Map<string, Command>();
  for (const file of files.sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { commands?: Command[] };
    for (const command of mod.commands ?? []) found.set(command.name, command);
  }
  return found;
}

function usage(commands: Map<string, Command>): string {
  const names = [...commands.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${commands.get(n)?.summary ?? ''}`);
  return [
    'raftbed: a Raft key-value node and a fault-injection testbed that checks it',
    '',
    'usage: raftbed COMMAND [flags]      raftbed COMMAND --help',
    '',
    'commands:',
    ...lines,
    '',
    'exit codes of check and run: 0 valid, 1 not valid, 2 unknown, 3 usage error or setup failure',
  ].join('\n');
}

function rank(name: string): number {
  const i = HELP_ORDER.indexOf(name);
  return i === -1 ? HELP_ORDER.length : i;
}

export async function main(argv: readonly string[]): Promise<number> {
  const commands = await loadCommands();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage(commands) + '\n');
    return name === undefined ? EXIT.usage : 0;
  }
  const command = commands.get(name);
  if (command === undefined) {
    process.stderr.write(`raftbed: unknown command '${name}' (see raftbed --help)\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help.trimEnd() + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof SetupError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}
