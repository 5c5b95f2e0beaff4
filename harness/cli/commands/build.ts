import type { Command } from '../command.js';
import { choiceFlag, noPositionals, parseFlags } from '../args.js';
import { SetupError, UsageError } from '../errors.js';

// Heavy modules (dockerode) are imported inside run(): loading this file must stay
// cheap, since the node container loads every command file to dispatch.

const HELP = `usage: raftbed build [--ref GITREF] [--base auto|registry|offline] [--json]

Builds the node image and prints its reference (raftbed:<hash of its inputs>).

Without --ref the image holds this checkout's built dist/ and package.json
(run \`npm run build\` first); an unchanged tree is not built again. With --ref
the commit's tree is exported to a temporary folder, compiled and imaged, so
two builds can be compared (raftbed run --compare-image).

The base is node:20-bookworm-slim when it is present or a registry answers
within 3 s; otherwise an image made from this host's own Node runtime
(docker import). --base (or RAFTBED_BASE) forces one.

flags:
  --ref GITREF   build this commit instead of the working tree
  --base MODE    auto (default), registry or offline
  --json         print {"image","id","built","base","commit"} instead of the reference`;

const specs = {
  ref: { type: 'string' },
  base: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const commands: Command[] = [
  {
    name: 'build',
    summary: 'build the node image (of the working tree or a git ref); prints its reference',
    help: HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('build', specs, argv);
      noPositionals('build', positionals);
      const base = choiceFlag(
        'build',
        'base',
        flags.base,
        ['auto', 'registry', 'offline'] as const,
        'auto',
      );
      const { Engine } = await import('../../docker/engine.js');
      const { ensureImage } = await import('../../docker/image.js');
      const { buildRef } = await import('../../docker/build-ref.js');
      const { repoRoot } = await import('../../docker/repo.js');
      const { guarded, Interrupted } = await import('../../cluster/interrupt.js');
      const log = (line: string): void => void process.stderr.write(`raftbed build: ${line}\n`);
      const engine = await Engine.connect();
      const root = repoRoot();
      try {
        const image = await guarded(async (g) => {
          const mode = flags.base === undefined ? undefined : base;
          if (flags.ref !== undefined) {
            return buildRef(engine, {
              repo: root,
              ref: flags.ref,
              log,
              signal: g.signal,
              ...(mode ? { base: mode } : {}),
            });
          }
          return ensureImage(engine, {
            root,
            log,
            signal: g.signal,
            ...(mode ? { base: mode } : {}),
          });
        });
        if (flags.json) {
          process.stdout.write(
            JSON.stringify({
              image: image.ref,
              id: image.id,
              built: image.built,
              base: image.base.ref,
              commit: 'commit' in image ? image.commit : null,
            }) + '\n',
          );
        } else {
          process.stdout.write(`${image.ref}\n`);
        }
        return 0;
      } catch (err) {
        if (err instanceof Interrupted) {
          process.stderr.write('raftbed build: interrupted; nothing was tagged\n');
          return 130;
        }
        if (err instanceof SetupError || err instanceof UsageError) throw err;
        throw new SetupError(`raftbed build: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  },
];
