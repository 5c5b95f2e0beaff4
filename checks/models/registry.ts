import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Model } from './model.js';

const NOT_MODELS = new Set(['model', 'registry']);
let loaded: Promise<ReadonlyMap<string, Model>> | undefined;

/**
 * Every model in this folder, by name. Each file (other than model.ts and this one)
 * exports `model`, so adding a model is adding a file.
 */
export function loadModels(): Promise<ReadonlyMap<string, Model>> {
  loaded ??= scan();
  return loaded;
}

async function scan(): Promise<ReadonlyMap<string, Model>> {
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = (await readdir(dir))
    .filter(
      (f) => /\.(js|ts)$/.test(f) && !/\.(d|test|bench)\.ts$/.test(f) && !/\.test\.js$/.test(f),
    )
    .filter((f) => !NOT_MODELS.has(f.replace(/\.(js|ts)$/, '')))
    .sort();
  const models = new Map<string, Model>();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { model?: Model };
    if (mod.model !== undefined) models.set(mod.model.name, mod.model);
  }
  return models;
}

const byName = new Map<string, Promise<Model | undefined>>();

/**
 * The model in the file named after it, if that is where it is: a check needs one
 * model, and importing every model file costs a one-file check milliseconds.
 */
function fromItsFile(name: string): Promise<Model | undefined> {
  let found = byName.get(name);
  if (found === undefined) {
    found =
      /^[a-z0-9][a-z0-9-]*$/.test(name) && !NOT_MODELS.has(name)
        ? import(new URL(`./${name}.js`, import.meta.url).href).then(
            (mod: { model?: Model }) => (mod.model?.name === name ? mod.model : undefined),
            () => undefined,
          )
        : Promise.resolve(undefined);
    byName.set(name, found);
  }
  return found;
}

const found = new Map<string, Model>();

/** The model called `name` if getModel has found it before (no await: checks of many small histories). */
export function knownModel(name: string): Model | undefined {
  return found.get(name);
}

/** The model called `name`; the error lists the known ones. */
export async function getModel(name: string): Promise<Model> {
  const known = found.get(name);
  if (known !== undefined) return known;
  const quick = await fromItsFile(name);
  if (quick !== undefined) {
    found.set(name, quick);
    return quick;
  }
  const models = await loadModels();
  const model = models.get(name);
  if (model === undefined) {
    throw new UnknownModelError(name, [...models.keys()]);
  }
  found.set(name, model);
  return model;
}

export class UnknownModelError extends Error {
  override readonly name = 'UnknownModelError';
  constructor(
    readonly model: string,
    readonly known: readonly string[],
  ) {
    super(`unknown model '${model}' (known: ${known.join(', ')})`);
  }
}

// Start loading every model as soon as the checker is imported: a model module first
// imported by a check makes that check wait for file reads on the thread pool
// (milliseconds, tens of them on a busy machine). Errors surface at loadModels().
loadModels().catch(() => undefined);
