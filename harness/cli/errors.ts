/**
 * Errors that end a command with exit code 3 and one line on stderr.
 * Anything else that escapes a command is a bug and is reported with its stack.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Bad input file, missing engine, failed setup: the user can act on the message. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

export const EXIT = {
  valid: 0,
  invalid: 1,
  unknown: 2,
  usage: 3,
} as const;
