/** One subcommand of `raftbed`. `run` returns the process exit code. */
export interface Command {
  readonly name: string;
  /** One line for `raftbed --help`. */
  readonly summary: string;
  /** The whole `raftbed NAME --help` text. */
  readonly help: string;
  run(argv: readonly string[]): Promise<number>;
}
