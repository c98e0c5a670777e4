// What the rest of the server needs from Prometheus/Thanos: one typed method per HTTP
// endpoint, warnings returned next to results, and hooks for the server's own metrics.
// The implementation is ./client.ts; tools receive it as app.prometheus (null when
// PROMETHEUS_URL is not set).

export type Tier = 'prometheus' | 'thanos';
export type Labels = Record<string, string>;

export interface InstantSample {
  labels: Labels;
  /** epoch ms */
  t: number;
  /** NaN and ±Inf are kept as numbers */
  v: number;
}

export interface InstantResult {
  resultType: 'vector' | 'scalar' | 'string' | 'matrix';
  /** vector: one per series; scalar: one with empty labels; matrix (instant query of a range selector): see `series` */
  samples: InstantSample[];
  /** only for resultType "matrix" */
  series: RangeSeries[];
  warnings: string[];
  tier: Tier;
  /** evaluation time, epoch ms */
  time: number;
}

export interface RangeSeries {
  labels: Labels;
  /** epoch ms, ascending */
  timestamps: number[];
  values: number[];
}

export interface RangeResult {
  series: RangeSeries[];
  warnings: string[];
  tier: Tier;
  /** epoch ms, after alignment to the step */
  start: number;
  end: number;
  step: number;
}

export interface Range {
  /** epoch ms */
  start: number;
  end: number;
  /** ms */
  step: number;
}

/** A discovery answer (names, values, label sets, metadata) with where it came from. */
export interface Discovered<T> {
  values: T;
  warnings: string[];
  tier: Tier;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface MetricMetadata {
  type: string;
  help: string;
  unit: string;
}

export interface Health {
  ok: boolean;
  /** the URL without credentials */
  url: string;
  tier: Tier;
  ms: number;
  error?: string;
}

/** Fed to observers for the server's /metrics. */
export interface RequestEvent {
  endpoint: string;
  tier: Tier;
  ms: number;
  outcome: 'ok' | 'rejected' | 'error' | 'timeout' | 'breaker_open';
}

export interface ClientObserver {
  request?(e: RequestEvent): void;
  cache?(e: { hit: boolean; shared: boolean }): void;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface PrometheusApi {
  /** the primary URL, without credentials, for messages */
  readonly url: string;
  query(query: string, opts?: CallOptions & { time?: number }): Promise<InstantResult>;
  queryRange(query: string, range: Range, opts?: CallOptions): Promise<RangeResult>;
  /** label names, optionally limited to series matching the selectors */
  labelNames(opts?: CallOptions & { match?: string[]; start?: number; end?: number }): Promise<Discovered<string[]>>;
  labelValues(label: string, opts?: CallOptions & { match?: string[]; start?: number; end?: number }): Promise<Discovered<string[]>>;
  series(match: string[], opts?: CallOptions & { start?: number; end?: number; limit?: number }): Promise<Discovered<Labels[]>>;
  metadata(opts?: CallOptions & { metric?: string; limit?: number }): Promise<Discovered<Record<string, MetricMetadata[]>>>;
  /** one cheap request per configured tier */
  health(): Promise<Health[]>;
  breakerState(): BreakerState;
  addObserver(o: ClientObserver): void;
  close(): Promise<void>;
}
