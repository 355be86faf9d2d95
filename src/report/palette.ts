// Colours of the charts: the Okabe-Ito palette (safe for the common colour-vision deficiencies,
// Okabe & Ito 2008), one meaning per colour. Pure.
//
// - Rates: offered, accepted (xmit) and delivered (rx) each have their own colour and their own
//   mark (offered: a dashed line; xmit: triangles; rx: circles), so the loss between them shows.
// - Variants of one run: the palette in order (yellow left out: too faint on white).
// - The two sides of a comparison: A in blues, B in oranges, everywhere in compare's charts; the
//   same variant name gets the same shade on both sides (A:ring dark blue, B:ring vermillion).
//   Never red beside green.

export const OKABE_ITO = {
  black: '#000000', orange: '#E69F00', skyBlue: '#56B4E9', bluishGreen: '#009E73',
  yellow: '#F0E442', blue: '#0072B2', vermillion: '#D55E00', reddishPurple: '#CC79A7',
} as const;

/** The three rates of a flood, each its own colour, dash and point style. */
export const RATE_STYLE = {
  offered: { colour: OKABE_ITO.black, dash: [6, 4], pointStyle: 'line' },
  xmit: { colour: OKABE_ITO.skyBlue, dash: [] as number[], pointStyle: 'triangle' },
  rx: { colour: OKABE_ITO.vermillion, dash: [] as number[], pointStyle: 'circle' },
} as const;

/** Variants of one run, in order. */
const RUN = [OKABE_ITO.blue, OKABE_ITO.orange, OKABE_ITO.bluishGreen, OKABE_ITO.reddishPurple, OKABE_ITO.skyBlue, OKABE_ITO.vermillion, OKABE_ITO.black];
/** Side A (the baseline result) and side B (the candidate) of a comparison: one hue family each. */
const SIDE_A = [OKABE_ITO.blue, OKABE_ITO.skyBlue, '#003F63', '#9CCFEF'];
const SIDE_B = [OKABE_ITO.vermillion, OKABE_ITO.orange, '#8A3D00', '#F5C767'];

/** Point styles that tell variants apart in a chart whose colours mean something else (the rates). */
export const POINT_STYLES = ['circle', 'triangle', 'rect', 'rectRot', 'star', 'crossRot', 'cross', 'rectRounded'] as const;

const side = (label: string): 'A' | 'B' | null => (label.startsWith('A:') ? 'A' : label.startsWith('B:') ? 'B' : null);

/** A colour per variant label: A:/B: labels (a comparison of two results) by side, else the palette in order. */
export function variantColours(labels: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const compared = labels.length > 0 && labels.every((l) => side(l) !== null);
  if (!compared) {
    labels.forEach((l, i) => out.set(l, RUN[i % RUN.length]!));
    return out;
  }
  // The same variant name on both sides gets the same shade index.
  const names = [...new Set(labels.map((l) => l.slice(2)))];
  for (const l of labels) {
    const k = names.indexOf(l.slice(2));
    out.set(l, (side(l) === 'A' ? SIDE_A : SIDE_B)[k % SIDE_A.length]!);
  }
  return out;
}

/** A colour with an alpha (bars drawn translucent over the grid). */
export const withAlpha = (hex: string, alpha: number): string => `${hex}${Math.round(alpha * 255).toString(16).padStart(2, '0')}`;
