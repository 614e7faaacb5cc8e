/**
 * Flatness of the soak's series after warm-up: the median over the first window after
 * warm-up against the median over the last window before the load stopped, and the
 * least-squares slope per minute over everything in between. A series is called flat when its
 * growth stays within max(abs, rel x first median); nothing is hidden: every number is printed.
 */
import { median } from './report.js';

export interface ISeriesSpec<S> {
  key: string;
  label: string;
  unit: string;
  /** undefined: no value in this sample (e.g. the after-GC heap, taken every few samples). */
  value: (s: S) => number | undefined;
  absTolerance: number;
  relTolerance: number;
}

export interface IFlatness {
  key: string;
  label: string;
  unit: string;
  /** First sample after warm-up, for reference. */
  start: number;
  firstMedian: number;
  lastMedian: number;
  growth: number;
  slopePerMinute: number;
  tolerance: number;
  verdict: 'flat' | 'GROWS' | 'falls' | 'n/a';
  points: number;
}

export interface IWindows {
  warmup: number;
  end: number;
  window: number;
}

/** Windows for a run whose load ran from 0 to `end` seconds with `warmup` seconds of warm-up. */
export function windows(warmup: number, end: number, maxWindow = 60): IWindows {
  const window = Math.max(1, Math.min(maxWindow, Math.floor((end - warmup) / 3)));
  return { warmup, end, window };
}

/** Least-squares slope of y over x (per unit of x); NaN with fewer than 2 points. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) * (x - mx);
  }
  return den === 0 ? Number.NaN : num / den;
}

/** `samples` with their time `t` in seconds since the load started. */
export function flatness<S extends { t: number }>(samples: readonly S[], spec: ISeriesSpec<S>, w: IWindows): IFlatness {
  const pts: Array<[number, number]> = [];
  for (const s of samples) {
    if (s.t < w.warmup || s.t >= w.end) continue;
    const v = spec.value(s);
    if (v !== undefined && Number.isFinite(v)) pts.push([s.t, v]);
  }
  const first = pts.filter(([t]) => t < w.warmup + w.window).map(([, v]) => v);
  const last = pts.filter(([t]) => t >= w.end - w.window).map(([, v]) => v);
  const firstMedian = median(first);
  const lastMedian = median(last);
  const growth = lastMedian - firstMedian;
  const tolerance = Math.max(spec.absTolerance, spec.relTolerance * Math.abs(firstMedian));
  const verdict: IFlatness['verdict'] = !Number.isFinite(growth) ? 'n/a' : growth > tolerance ? 'GROWS' : growth < -tolerance ? 'falls' : 'flat';
  return {
    key: spec.key,
    label: spec.label,
    unit: spec.unit,
    start: pts[0]?.[1] ?? Number.NaN,
    firstMedian,
    lastMedian,
    growth,
    slopePerMinute: slope(pts) * 60,
    tolerance,
    verdict,
    points: pts.length,
  };
}
