import { writeFile } from 'node:fs/promises';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * The one chart renderer every plan's report uses (each plan's charts are Vega-Lite specs built
 * in its own report folder, e.g. src/plans/experiment/report/charts.ts).
 */

/** Renders a Vega-Lite spec to SVG (Vega's headless renderer) and to PNG (resvg). */
export async function renderChart(spec: TopLevelSpec, basePath: string): Promise<string[]> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 } }).render().asPng();
  await writeFile(`${basePath}.svg`, svg);
  await writeFile(`${basePath}.png`, png);
  return [`${basePath}.svg`, `${basePath}.png`];
}
