/**
 * The partition shapes a nemesis draws from. The backend resolves each to cuts
 * (harness/faults/shapes.ts): a node alone, the leader alone, a random minority
 * and majority, Jepsen's majorities ring and bridge, a one-way cut.
 */
export const PARTITION_SHAPES = [
  'isolate',
  'isolate-leader',
  'halves',
  'ring',
  'bridge',
  'one-way',
] as const;
export type PartitionShape = (typeof PARTITION_SHAPES)[number];
