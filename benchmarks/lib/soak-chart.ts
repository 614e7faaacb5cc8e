/**
 * The soak chart: a Vega-Lite spec (one panel per measure, a shared time axis, shaded bands
 * where the flaky backend was down, dashed rules at the end of warm-up and where the load
 * stopped), compiled to Vega, rendered headless to SVG by Vega's own SVG renderer, and
 * rasterised to PNG by resvg (@resvg/resvg-js: a Rust renderer shipped as a prebuilt binary
 * inside its npm package; no canvas, no browser). Text uses the system fonts (DejaVu Sans on
 * Debian: fonts-dejavu-core).
 */
import { writeFileSync } from 'node:fs';
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';
import { Resvg } from '@resvg/resvg-js';

export interface IChartPoint {
  t: number;
  series: string;
  value: number;
}

export interface IChartPanel {
  title: string;
  yTitle: string;
  /** Series in legend order, with their colours. */
  series: Array<{ name: string; color: string }>;
  points: IChartPoint[];
  /** y starts at zero (default true). */
  zero?: boolean;
}

export interface IChartInput {
  title: string;
  subtitle: string[];
  tMax: number;
  warmupEnd: number;
  loadEnd: number;
  /** Seconds during which the flaky backend was down. */
  downBands: Array<{ start: number; end: number }>;
  panels: IChartPanel[];
}

const WIDTH = 860;
const HEIGHT = 118;
const FONT = 'DejaVu Sans';
const X_TITLE = 'seconds since the load started';

function panelSpec(p: IChartPanel, c: IChartInput, last: boolean): Record<string, unknown> {
  const xTitle = last ? X_TITLE : null;
  const xScale = { domain: [0, c.tMax], nice: false };
  const names = p.series.map((s) => s.name);
  const layers: Array<Record<string, unknown>> = [];
  if (c.downBands.length > 0) {
    layers.push({
      data: { values: c.downBands },
      mark: { type: 'rect', color: '#e45756', opacity: 0.14 },
      encoding: { x: { field: 'start', type: 'quantitative', scale: xScale, title: xTitle }, x2: { field: 'end' } },
    });
  }
  layers.push({
    data: { values: [{ t: c.warmupEnd }, { t: c.loadEnd }] },
    mark: { type: 'rule', color: '#777777', strokeDash: [5, 4], strokeWidth: 1 },
    encoding: { x: { field: 't', type: 'quantitative', scale: xScale, title: xTitle } },
  });
  layers.push({
    data: { values: p.points },
    mark: { type: 'line', strokeWidth: 1.3, clip: true },
    encoding: {
      x: { field: 't', type: 'quantitative', scale: xScale, title: xTitle, axis: { tickCount: 12 } },
      y: { field: 'value', type: 'quantitative', title: p.yTitle, scale: { zero: p.zero ?? true }, axis: { tickCount: 4 } },
      color: {
        field: 'series',
        type: 'nominal',
        sort: names,
        scale: { domain: names, range: p.series.map((s) => s.color) },
        legend: { title: null, orient: 'right', labelLimit: 240, symbolType: 'stroke', symbolStrokeWidth: 3 },
      },
    },
  });
  return { title: { text: p.title, anchor: 'start', fontSize: 13, fontWeight: 'bold' }, width: WIDTH, height: HEIGHT, layer: layers };
}

/** The Vega-Lite spec for the chart (kept separate so it can be written out for inspection). */
export function chartSpec(c: IChartInput): TopLevelSpec {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: c.title, subtitle: c.subtitle, anchor: 'start', fontSize: 16, subtitleFontSize: 12, subtitleColor: '#333333', offset: 14 },
    background: 'white',
    padding: 14,
    spacing: 22,
    vconcat: c.panels.map((p, i) => panelSpec(p, c, i === c.panels.length - 1)),
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    config: {
      font: FONT,
      axis: { labelFontSize: 10, titleFontSize: 11, gridColor: '#e6e6e6' },
      legend: { labelFontSize: 11 },
      view: { stroke: '#cccccc' },
    },
  };
  return spec as unknown as TopLevelSpec;
}

/** Renders the chart to a PNG file; returns its size in pixels. */
export async function renderChartPng(c: IChartInput, file: string): Promise<{ width: number; height: number }> {
  const vg = compile(chartSpec(c)).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 1.5 },
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
  });
  const img = resvg.render();
  writeFileSync(file, img.asPng());
  return { width: img.width, height: img.height };
}
