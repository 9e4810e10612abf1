/**
 * Requests counted per operation and outcome: an after-response hook of the request pipeline, read by
 * whatever exposes them (a future /metrics route, tests). Counts only: no timing histograms yet.
 */
export interface OperationCounts {
  requests: number;
  /** Answers with status 400-499. */
  clientErrors: number;
  /** Answers with status 500 and above. */
  serverErrors: number;
}

export class RequestCounters {
  private readonly byOperation = new Map<string, OperationCounts>();

  /** The hook: one answered request. */
  readonly count = (event: { operation: string; status: number }): void => {
    let counts = this.byOperation.get(event.operation);
    if (!counts) this.byOperation.set(event.operation, (counts = { requests: 0, clientErrors: 0, serverErrors: 0 }));
    counts.requests++;
    if (event.status >= 500) counts.serverErrors++;
    else if (event.status >= 400) counts.clientErrors++;
  };

  /** A copy of the counts, by operation name. */
  snapshot(): Record<string, OperationCounts> {
    return Object.fromEntries([...this.byOperation].map(([name, counts]) => [name, { ...counts }]));
  }
}
