/**
 * Port specs: a number, an array of numbers, `{ from, to }` ranges, or a mix. Compiled to
 * sorted, merged inclusive ranges.
 */
import { configError, describeValue } from '../../core/errors.js';
import type { PortSpec } from '../../types.js';

export type PortRanges = ReadonlyArray<readonly [number, number]>;

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function checkPort(v: unknown, path: string): number {
  if (!isPort(v)) throw configError(path, `must be a port (an integer 1..65535), got ${describeValue(v)}`);
  return v;
}

export function compilePorts(spec: PortSpec, path: string): PortRanges {
  const items: unknown[] = Array.isArray(spec) ? spec : [spec];
  if (items.length === 0) throw configError(path, 'names no port');
  const ranges: Array<[number, number]> = [];
  items.forEach((item, i) => {
    const p = Array.isArray(spec) ? `${path}[${i}]` : path;
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const r = item as Record<string, unknown>;
      for (const k of Object.keys(r)) if (k !== 'from' && k !== 'to') throw configError(`${p}.${k}`, 'unknown field');
      const from = checkPort(r.from, `${p}.from`);
      const to = checkPort(r.to, `${p}.to`);
      if (from > to) throw configError(p, `range from ${from} to ${to} is empty (from > to)`);
      ranges.push([from, to]);
    } else {
      const port = checkPort(item, p);
      ranges.push([port, port]);
    }
  });
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

export function portsMatch(ranges: PortRanges, port: number): boolean {
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (port >= r[0] && port <= r[1]) return true;
  }
  return false;
}
