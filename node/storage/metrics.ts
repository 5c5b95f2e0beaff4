/** Latency samples in a ring of the most recent ones, for percentiles in INFO. */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = 4096) {
    this.samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  /** The q-quantile (0..1) of the window by nearest rank, or 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const sorted = this.samples.slice(0, this.count).sort();
    const rank = Math.min(this.count - 1, Math.max(0, Math.ceil(q * this.count) - 1));
    return sorted[rank] ?? 0;
  }
}

export interface StorageMetrics {
  /** fsyncs of WAL segments and snapshot files. */
  readonly fsyncs: number;
  /** fsyncs of the data directory. */
  readonly dirFsyncs: number;
  readonly fsyncP50Ms: number;
  readonly fsyncP99Ms: number;
  readonly bytesWritten: number;
  /** WAL records written since start. */
  readonly records: number;
  /** WAL segment files on disk now. */
  readonly segments: number;
  readonly snapshotsSaved: number;
  readonly snapshotIndex: number;
}
