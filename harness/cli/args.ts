import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

export type FlagSpec =
  | { readonly type: 'string'; readonly short?: string; readonly multiple?: false }
  | { readonly type: 'string'; readonly short?: string; readonly multiple: true }
  | { readonly type: 'boolean'; readonly short?: string };

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type FlagValue<S extends FlagSpec> = S extends { type: 'boolean' }
  ? boolean | undefined
  : S extends { multiple: true }
    ? string[] | undefined
    : string | undefined;

export type ParsedFlags<S extends FlagSpecs> = { [K in keyof S]: FlagValue<S[K]> } & {
  help: boolean | undefined;
};

export interface Parsed<S extends FlagSpecs> {
  readonly flags: ParsedFlags<S>;
  readonly positionals: string[];
}

/**
 * Parses argv strictly: an unknown flag or a missing value is a UsageError that
 * names the command, so the user sees `raftbed sim: unknown option '--sedes'`.
 */
export function parseFlags<S extends FlagSpecs>(
  command: string,
  specs: S,
  argv: readonly string[],
): Parsed<S> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...specs, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { flags: values as unknown as ParsedFlags<S>, positionals };
  } catch (err) {
    throw new UsageError(`raftbed ${command}: ${describeParseError(err)} (see --help)`);
  }
}

/** node:util's messages, cut to what the user needs to see. */
function describeParseError(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown !== null) return `unknown option '${unknown[1] ?? ''}'`;
  const missing = /^Option '(--[\w-]+)[^']*' argument missing/.exec(message);
  if (missing !== null) return `${missing[1] ?? 'an option'} needs a value`;
  return message === '' ? 'bad arguments' : message;
}

/** For commands that take no positional arguments. */
export function noPositionals(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) {
    throw new UsageError(`raftbed ${command}: unexpected argument '${positionals[0]}'`);
  }
}

/** A flag that must be a whole number in [min, max]; absent gives the default. */
export function intFlag(
  command: string,
  name: string,
  raw: string | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `raftbed ${command}: --${name} must be a whole number from ${min} to ${max}, got '${raw}'`,
    );
  }
  return value;
}

/** A flag that must be a finite number in [min, max]; absent gives the default. */
export function numberFlag(
  command: string,
  name: string,
  raw: string | undefined,
  fallback: number,
  min = -Infinity,
  max = Infinity,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(
      `raftbed ${command}: --${name} must be a number from ${min} to ${max}, got '${raw}'`,
    );
  }
  return value;
}

/** A flag that must be one of a fixed set of words. */
export function choiceFlag<T extends string>(
  command: string,
  name: string,
  raw: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (raw === undefined) return fallback;
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new UsageError(
    `raftbed ${command}: --${name} must be one of ${choices.join(', ')}, got '${raw}'`,
  );
}
