export const KINDS = ['spike', 'dip', 'level_shift', 'trend', 'seasonal_break', 'variance_change'] as const;
export type Kind = (typeof KINDS)[number];
export type Direction = 'up' | 'down';

export const METHODS = ['auto', 'robust', 'seasonal', 'level_shift', 'trend', 'variance'] as const;
export type Method = (typeof METHODS)[number];

/** What a detector reports, in point indices; detect.ts turns it into an Anomaly. */
export interface Candidate {
  kind: Kind;
  direction: Direction;
  /** the point that best marks it: a spike's peak, a shift's or drift's onset */
  at: number;
  /** first and last point it covers */
  from: number;
  to: number;
  /** the detector's statistic divided by its threshold at medium sensitivity (1 = just at it) */
  strength: number;
  /** for shifts and drifts: the new level and the level expected without the change, deseasonalized, at `to` */
  level?: { value: number; expected: number };
  /**
   * for variance changes: the noise σ over the event and the usual σ there, in value units;
   * `routine`: how far the threshold was raised (strength units) by an earlier change of the same direction
   */
  noise?: { observed: number; usual: number; routine?: number };
  /** found at a coarser resolution: value, expected and band as measured there, in value units */
  measured?: { value: number; expected: number; band: [number, number] };
}
