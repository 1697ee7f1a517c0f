import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { LayerSpec, UnitSpec } from "vega-lite/build/src/spec/index.js";

type Encoding = NonNullable<UnitSpec<string>["encoding"]>;

/** One (x, y) sample of a series. */
export interface Point { readonly x: number; readonly y: number }

/** A named series; `line` (the default) joins its points in x order, `point` draws dots only. */
export interface Series { readonly name: string; readonly points: readonly Point[]; readonly mark?: "line" | "point" }

/**
 * A shaded band between low and high at each x (a fan chart's interval), drawn under the lines,
 * in the colour of the series named `like` (its own colour without one).
 */
export interface Band {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly low: number; readonly high: number }[];
  readonly like?: string;
}

/** One chart: its series share the axes; `rules` are labelled horizontal lines at y; `bands` shaded intervals. */
export interface LinePlot {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logY?: boolean;
  /** x is a count (epochs): ticks at whole numbers only. */
  readonly integerX?: boolean;
  readonly series: readonly Series[];
  readonly rules?: readonly { readonly y: number; readonly label: string }[];
  readonly bands?: readonly Band[];
}

/** Size of one chart's plotting area, in SVG pixels. */
const WIDTH = 640;
const HEIGHT = 240;
/** A line series with at most this many points also gets a dot per point (one point alone draws no line). */
const DOTS_UP_TO = 60;
/**
 * A line series with more points than this is reduced to the lowest and highest point of
 * each of WIDTH equal x-intervals (one per pixel column), which draws the same band at this
 * width and keeps the time and the file size bounded for long runs.
 */
const DECIMATE_ABOVE = 2 * WIDTH;
/** Tableau 10: distinguishable, and readable on white. */
const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#ff9da6", "#9d755d", "#bab0ac"];
const RULE_COLOR = "#c0392b";
/**
 * Tick labels of y: up to 4 significant digits, so plain decimals from 0.00001 to 9999 (0.03,
 * 250), exponent form beyond (1e+4, 1e-7) where digits would run to a dozen characters.
 */
const Y_FORMAT = ".4~g";
/** Pixels between the outermost data and the frame, so that extremes and dots stay visible. */
const PAD = 6;

interface Datum { readonly s: string; readonly x: number; readonly y: number }

/** Whether a point can be drawn: finite, and y > 0 on a log scale (log 0 is −∞). */
function drawable(p: Point, logY: boolean): boolean {
  return Number.isFinite(p.x) && Number.isFinite(p.y) && (!logY || p.y > 0);
}

/**
 * The lowest and the highest point (first of equals) of each of `buckets` equal intervals of
 * x, in x order. Spikes survive, which matters for gradient norms.
 */
export function decimate(points: readonly Point[], buckets: number): Point[] {
  if (points.length <= 2 * buckets) return points.slice();
  const sorted = points.slice().sort((a, b) => a.x - b.x);
  const x0 = sorted[0].x, span = sorted[sorted.length - 1].x - x0;
  if (span === 0) return sorted;
  const bucketOf = (p: Point): number => Math.min(buckets - 1, Math.floor(((p.x - x0) / span) * buckets));
  const out: Point[] = [];
  for (let i = 0; i < sorted.length;) {
    const b = bucketOf(sorted[i]);
    let lo = sorted[i], hi = sorted[i];
    for (i++; i < sorted.length && bucketOf(sorted[i]) === b; i++) {
      if (sorted[i].y < lo.y) lo = sorted[i];
      if (sorted[i].y > hi.y) hi = sorted[i];
    }
    if (lo === hi) out.push(lo);
    else if (lo.x <= hi.x) out.push(lo, hi);
    else out.push(hi, lo);
  }
  return out;
}

/**
 * The Vega-Lite layer spec of one chart. Undrawable points are dropped here, so that Vega
 * never sees NaN or a non-positive value on a log axis (which would make the whole axis
 * NaN). A chart with nothing to draw keeps its axes and says "no data".
 */
function chartSpec(p: LinePlot, colorOf: (name: string) => string): LayerSpec<string> {
  const logY = p.logY === true;
  const lines: Datum[] = [], dots: Datum[] = [];
  for (const s of p.series) {
    let kept = s.points.filter((q) => drawable(q, logY));
    if (s.mark !== "point" && kept.length > DECIMATE_ABOVE) kept = decimate(kept, WIDTH);
    const pts = kept.map((q) => ({ s: s.name, x: q.x, y: q.y }));
    if (s.mark !== "point") lines.push(...pts);
    if (s.mark === "point" || pts.length <= DOTS_UP_TO) dots.push(...pts);
  }
  const rules = (p.rules ?? []).filter((r) => Number.isFinite(r.y) && (!logY || r.y > 0));
  const areas = (p.bands ?? []).flatMap((b) => b.points
    .filter((q) => drawable({ x: q.x, y: q.low }, logY) && drawable({ x: q.x, y: q.high }, logY))
    .map((q) => ({ s: b.name, x: q.x, y: q.low, y2: q.high })));
  const empty = lines.length === 0 && dots.length === 0;

  const names = [...new Set([...p.series.map((s) => s.name), ...(p.bands ?? []).map((b) => b.name)])];
  const like = new Map((p.bands ?? []).map((b) => [b.name, b.like ?? b.name]));
  const color: Encoding["color"] = {
    field: "s", type: "nominal",
    // An explicit domain keeps every series in the legend (an empty one too) in the given order.
    scale: { domain: names, range: names.map((n) => colorOf(like.get(n) ?? n)) },
    legend: names.length > 0 ? { title: null, orient: "right" } : null,
  };
  // Domains end at the data (not rounded out to a nice number, which on a log axis can waste
  // most of a decade), except when they are a single value and need widening to show anything.
  const xs = [...lines, ...dots, ...areas].map((d) => d.x);
  const ys = [...lines, ...dots].map((d) => d.y).concat(rules.map((r) => r.y), areas.flatMap((a) => [a.y, a.y2]));
  const spread = (v: readonly number[]): boolean => v.some((a) => a !== v[0]);
  const x: Encoding["x"] = {
    field: "x", type: "quantitative", title: p.xLabel,
    // With no data Vega has no domain at all; [0, 1] keeps the axis drawable.
    scale: empty ? { domain: [0, 1] } : { zero: false, nice: !spread(xs), padding: PAD },
    axis: p.integerX ? { tickMinStep: 1, format: "d" } : {},
  };
  const y: Encoding["y"] = {
    field: "y", type: "quantitative", title: p.yLabel,
    scale: ys.length === 0 ? (logY ? { type: "log", domain: [1, 10] } : { domain: [0, 1] })
      : logY ? { type: "log", nice: !spread(ys), padding: PAD } : { zero: false, nice: !spread(ys), padding: PAD },
    axis: { format: Y_FORMAT },
  };

  const layer: UnitSpec<string>[] = [];
  // Layers are added only when they have rows, so the scales' domains come from what is drawn.
  if (areas.length > 0) {
    layer.push({
      data: { values: areas },
      mark: { type: "area", opacity: 0.25 },
      encoding: { x, y, y2: { field: "y2" }, color },
    });
  }
  if (lines.length > 0) {
    layer.push({
      data: { values: lines },
      mark: { type: "line", strokeWidth: 1.25 },
      encoding: { x, y, color },
    });
  }
  if (dots.length > 0) {
    layer.push({
      data: { values: dots },
      mark: { type: "point", filled: true, size: 22, opacity: 1 },
      encoding: { x, y, color },
    });
  }
  if (rules.length > 0) {
    layer.push({
      data: { values: rules },
      mark: { type: "rule", color: RULE_COLOR, strokeDash: [6, 4], strokeWidth: 1.25 },
      encoding: { y },
    });
    // The label twice: a white outline first, so that it stays readable over the data.
    for (const halo of [true, false]) {
      layer.push({
        data: { values: rules },
        mark: {
          type: "text", color: RULE_COLOR, align: "right", baseline: "bottom", dy: -3, fontSize: 11,
          ...(halo ? { stroke: "white", strokeWidth: 4, strokeJoin: "round" } : {}),
        },
        encoding: { y, x: { value: WIDTH - 4 }, text: { field: "label", type: "nominal" } },
      });
    }
  }
  if (empty) {
    layer.push({
      data: { values: [{}] },
      mark: { type: "text", text: "no data", color: "#888", fontSize: 13 },
      encoding: { x: { value: WIDTH / 2 }, y: { value: HEIGHT / 2 } },
    });
    // Encodings somewhere give the chart its axes (and its legend).
    layer.push({ data: { values: [] }, mark: { type: "point", opacity: 0 }, encoding: { x, y, color } });
  }
  return { title: { text: p.title, anchor: "start", fontSize: 13 }, width: WIDTH, height: HEIGHT, layer };
}

/**
 * Renders one or more plots stacked vertically into one standalone SVG document (vega-lite →
 * vega → SVG, headless). A series keeps its colour across the plots of one document (by
 * the order names first appear). Same input, same SVG, byte for byte.
 */
export async function renderSvg(plots: readonly LinePlot[]): Promise<string> {
  const order: string[] = [];
  for (const p of plots) for (const s of p.series) if (!order.includes(s.name)) order.push(s.name);
  for (const p of plots) for (const b of p.bands ?? []) if (!order.includes(b.like ?? b.name)) order.push(b.like ?? b.name);
  const colorOf = (name: string): string => PALETTE[order.indexOf(name) % PALETTE.length];
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    background: "white",
    padding: 12,
    vconcat: plots.map((p) => chartSpec(p, colorOf)),
    spacing: 36,
    // Each chart its own legend, listing only its own series.
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
    config: {
      font: "sans-serif",
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
      legend: { labelFontSize: 12, symbolType: "stroke", symbolStrokeWidth: 2 },
      view: { stroke: "#ccc" },
    },
  };
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return renumberClips(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Vega numbers clip paths with a counter that lives as long as the process (clip7 in the
 * third document), so they are renumbered from 1 in order of appearance: same input, same bytes.
 */
function renumberClips(svg: string): string {
  const ids = new Map<string, number>();
  const idOf = (n: string): number => {
    let k = ids.get(n);
    if (k === undefined) { k = ids.size + 1; ids.set(n, k); }
    return k;
  };
  return svg.replace(/(id="|url\(#)clip(\d+)(?=[")])/g, (_m, pre: string, n: string) => `${pre}clip${idOf(n)}`);
}
