// PNG charts from the same specs as the HTML page, with chartjs-node-canvas.
import { writeFileAtomic } from '../result/store.ts';
import { join } from 'node:path';
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import type { ChartSpec } from './charts.ts';

/** One PNG per drawn chart (a chart left as a sentence has none): chart id -> file name. */
export async function renderPngs(charts: ChartSpec[], dir: string, width = 900, height = 480): Promise<Map<string, string>> {
  const canvas = new ChartJSNodeCanvas({ width, height, backgroundColour: 'white' });
  const files = new Map<string, string>();
  for (const c of charts) {
    if (!c.config) continue;
    const file = `chart-${c.id}.png`;
    writeFileAtomic(join(dir, file), await canvas.renderToBuffer(structuredClone(c.config), 'image/png'));
    files.set(c.id, file);
  }
  return files;
}
