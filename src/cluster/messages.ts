/** IPC between the primary and its workers (WORKERS > 1): a worker asks for the metrics of all of them. */
export interface MetricsRequest {
  readonly type: "tessera:metrics-request";
  readonly id: number;
}

/** The primary's answer: the Prometheus text of every worker's registry, aggregated, or why it could not. */
export interface MetricsResponse {
  readonly type: "tessera:metrics-response";
  readonly id: number;
  readonly body?: string;
  readonly error?: string;
}

export function isMetricsRequest(message: unknown): message is MetricsRequest {
  return (message as MetricsRequest | null)?.type === "tessera:metrics-request";
}

export function isMetricsResponse(message: unknown): message is MetricsResponse {
  return (message as MetricsResponse | null)?.type === "tessera:metrics-response";
}
