import type { Prng } from '../../node/util/prng.js';
import type { PartitionShape } from './shapes.js';

export const FAULT_KINDS = ['partition', 'pause', 'kill', 'flaky', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Which nodes a pause, kill, flaky or slow hits. */
export const TARGETS = ['one', 'leader', 'minority', 'majority', 'all'] as const;
export type Target = (typeof TARGETS)[number];

export interface NemesisConfig {
  readonly kinds: readonly FaultKind[];
  /** How long each fault lasts. */
  readonly faultMs: number;
  /** How long the cluster stays healed between two faults. */
  readonly healMs: number;
  /** Quiet time before the first fault, so the workload has a baseline. */
  readonly firstMs: number;
  /** `random`: each fault drawn from the seed; `cycle`: every fault in turn (each node in turn). */
  readonly order: 'random' | 'cycle';
  readonly partitionShapes: readonly PartitionShape[];
  readonly pauseTargets: readonly Target[];
  readonly killTargets: readonly Target[];
  readonly flakyTargets: readonly Target[];
  readonly slowTargets: readonly Target[];
  readonly flakyLoss: number;
  readonly slowDelayMs: number;
  readonly slowJitterMs: number;
}

/**
 * One fault as planned: what, where and when. Nodes are fixed when the plan is
 * made, except for the leader, which is only known when the fault starts.
 */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly startMs: number;
  readonly endMs: number;
  /** partition only. */
  readonly shape?: PartitionShape;
  /** The nodes it hits (isolate, one-way, pause, kill, flaky, slow), or 'leader'. */
  readonly nodes?: readonly string[] | 'leader';
  readonly loss?: number;
  readonly delayMs?: number;
  readonly jitterMs?: number;
  /** A seed for the shape's own draws (halves, ring, bridge, one-way). */
  readonly shapeSeed?: number;
}

type Template = Omit<PlannedFault, 'startMs' | 'endMs' | 'shapeSeed'> & { draw?: Target };

/** Every distinct fault the config allows, in a fixed order (what `cycle` walks through). */
export function faultTemplates(config: NemesisConfig, nodes: readonly string[]): Template[] {
  const out: Template[] = [];
  const targeted = (kind: FaultKind, targets: readonly Target[], extra: Partial<Template> = {}) => {
    for (const target of targets) {
      if (target === 'one') for (const n of nodes) out.push({ kind, nodes: [n], ...extra });
      else if (target === 'leader') out.push({ kind, nodes: 'leader', ...extra });
      else if (target === 'all') out.push({ kind, nodes: [...nodes], ...extra });
      else out.push({ kind, draw: target, ...extra });
    }
  };
  for (const kind of config.kinds) {
    switch (kind) {
      case 'partition':
        for (const shape of config.partitionShapes) {
          if (shape === 'isolate') for (const n of nodes) out.push({ kind, shape, nodes: [n] });
          else if (shape === 'isolate-leader') out.push({ kind, shape, nodes: 'leader' });
          else out.push({ kind, shape });
        }
        break;
      case 'pause':
        targeted(kind, config.pauseTargets);
        break;
      case 'kill':
        targeted(kind, config.killTargets);
        break;
      case 'flaky':
        targeted(kind, config.flakyTargets, { loss: config.flakyLoss });
        break;
      case 'slow':
        targeted(kind, config.slowTargets, {
          delayMs: config.slowDelayMs,
          jitterMs: config.slowJitterMs,
        });
        break;
    }
  }
  return out;
}

/**
 * The whole schedule of a run, from the seed alone: quiet for `firstMs`, then
 * faults of `faultMs` separated by `healMs` healed, none running past `untilMs`.
 */
export function planSchedule(
  config: NemesisConfig,
  nodes: readonly string[],
  untilMs: number,
  prng: Prng,
): PlannedFault[] {
  const templates = faultTemplates(config, nodes);
  if (templates.length === 0 || nodes.length === 0) return [];
  const plan: PlannedFault[] = [];
  const nextRandom = kindDeck(templates, prng);
  let at = config.firstMs;
  for (let i = 0; at < untilMs; i++) {
    const template =
      config.order === 'cycle' ? (templates[i % templates.length] as Template) : nextRandom();
    const endMs = Math.min(at + config.faultMs, untilMs);
    const { draw, ...fault } = template;
    const drawn = draw === undefined ? {} : { nodes: drawNodes(draw, nodes, prng) };
    plan.push({ ...fault, ...drawn, startMs: at, endMs, shapeSeed: prng.nextU32() });
    at = endMs + config.healMs;
  }
  return plan;
}

/**
 * Random order that still mixes the kinds: every kind once, in a shuffled order,
 * before any kind comes again (a short run with five kinds sees all five rather
 * than, by chance, three pauses); the template within a kind is drawn at random.
 */
function kindDeck(templates: readonly Template[], prng: Prng): () => Template {
  const byKind = new Map<FaultKind, Template[]>();
  for (const t of templates) byKind.set(t.kind, [...(byKind.get(t.kind) ?? []), t]);
  let deck: FaultKind[] = [];
  return () => {
    if (deck.length === 0) deck = prng.shuffle([...byKind.keys()]);
    const kind = deck.shift() as FaultKind;
    return prng.pick(byKind.get(kind) ?? []);
  };
}

function drawNodes(target: Target, nodes: readonly string[], prng: Prng): string[] {
  const minority = Math.floor((nodes.length - 1) / 2);
  const count =
    target === 'minority'
      ? Math.max(1, minority)
      : target === 'majority'
        ? Math.floor(nodes.length / 2) + 1
        : target === 'all'
          ? nodes.length
          : 1;
  return prng.shuffle(nodes).slice(0, count).sort();
}
