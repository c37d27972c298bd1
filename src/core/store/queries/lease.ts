/** What fences every write of a worker on a run: the run, the worker and the attempt it claimed. */
export interface Lease {
  readonly runId: string;
  readonly workerId: string;
  readonly attempt: number;
}
