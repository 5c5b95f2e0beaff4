import { readFile } from 'node:fs/promises';
import { NODE_HELP, parseNodeConfig } from '../../../node/config.js';
import type { Command } from '../command.js';

/**
 * `raftbed node`: one Raft key-value node in the foreground, what a container
 * runs. Exit codes: 0 after SIGTERM or SIGINT, 3 when it cannot start (a bad
 * flag, corrupt storage, an address in use: one line on stderr), 1 when it
 * stopped on a failure while running (storage could not write).
 */
export const commands: Command[] = [
  {
    name: 'node',
    summary: 'run one Raft key-value node in the foreground',
    help: NODE_HELP,
    async run(argv: readonly string[]): Promise<number> {
      const config = parseNodeConfig(argv);
      // Loaded here so that other subcommands do not pay for the node's modules.
      const { RaftbedNode, NodeStartError } = await import('../../../node/server/node.js');
      let node;
      try {
        node = await RaftbedNode.start({ config, version: await version() });
      } catch (err) {
        if (!(err instanceof NodeStartError)) throw err;
        process.stderr.write(`raftbed node: ${err.message}\n`);
        return 3;
      }
      const onSignal = (signal: NodeJS.Signals): void => void node.stop(signal, 0);
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      const code = await node.done;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // Everything is closed and flushed; a stray handle must not keep a stopped node alive.
      setTimeout(() => process.exit(code), 200).unref();
      return code;
    },
  },
];

async function version(): Promise<string> {
  try {
    const pkg = JSON.parse(
      await readFile(new URL('../../../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
