import type { NodeName } from './spec.js';

/**
 * Names and labels of a cluster's Docker objects. Every object raftbed makes
 * carries CLUSTER_LABEL, and raftbed only ever removes or changes objects
 * found by that label, so nothing it did not create is touched.
 */
export const CLUSTER_LABEL = 'raftbed.cluster';
export const KIND_LABEL = 'raftbed.kind';
export const NODE_LABEL = 'raftbed.node';
export const IP_LABEL = 'raftbed.ip';
/** On the network: the cluster's spec as JSON, so a lost state file can be rebuilt. */
export const SPEC_LABEL = 'raftbed.spec';

export function containerName(cluster: string, node: NodeName): string {
  return `${cluster}-${node}`;
}

export function networkName(cluster: string): string {
  return `${cluster}-net`;
}

export function volumeName(cluster: string, node: NodeName): string {
  return `${cluster}-${node}-data`;
}

export function clusterLabels(cluster: string): Record<string, string> {
  return { [CLUSTER_LABEL]: cluster };
}
