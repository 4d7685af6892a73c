// How the viewer arranges its tiles: the number of columns that gives the largest tiles for the
// space the page has and the number of cameras (one camera fills it; tiles too small to see, as many
// cameras on a phone, become full-width rows that scroll), or a fixed grid people chose (1, 2×2,
// 3×3; more cameras than cells continue below). Pure: the page measures, this decides.

/** What people can choose; remembered per browser. */
export const LAYOUT_CHOICES = ['auto', '1', '4', '9'] as const;
export type LayoutChoice = (typeof LAYOUT_CHOICES)[number];

export interface Box {
  width: number;
  height: number;
}

export interface Arrangement {
  cols: number;
  rows: number;
  /** Each tile's size, px (whole pixels, never below 1). */
  width: number;
  height: number;
}

/**
 * The arrangement of `n` tiles of `aspect` (width / height) in `box`, `gap` px apart, chosen by
 * `choice`. 'auto' tries every column count and keeps the one whose tiles are largest; a fixed
 * grid sizes its cells to fill the box.
 */
export function arrange(choice: LayoutChoice, n: number, box: Box, aspect: number, gap: number, minWidth = 0): Arrangement {
  const count = Math.max(1, n);
  if (choice !== 'auto') {
    // Cells the size that grid has, however many cameras there are.
    const side = Math.round(Math.sqrt(Number(choice)));
    return cell(side, side, box, aspect, gap, Math.ceil(count / side));
  }
  let best: Arrangement | null = null;
  for (let cols = 1; cols <= count; cols++) {
    const rows = Math.ceil(count / cols);
    const a = cell(cols, rows, box, aspect, gap, rows);
    if (!best || a.width * a.height > best.width * best.height) best = a;
  }
  // Tiles that would be too small to see (many cameras on a phone): as many columns of at least
  // minWidth as fit, and the page scrolls.
  if (best!.width < Math.min(minWidth, box.width)) {
    const cols = Math.max(1, Math.min(count, Math.floor((box.width + gap) / (minWidth + gap))));
    const width = Math.max(1, Math.floor((box.width - (cols - 1) * gap) / cols));
    return { cols, rows: Math.ceil(count / cols), width, height: Math.max(1, Math.floor(width / aspect)) };
  }
  return best!;
}

/** Tiles of `aspect` as large as fit `cols` × `rows` cells of the box; `totalRows` of them in all. */
function cell(cols: number, rows: number, box: Box, aspect: number, gap: number, totalRows: number): Arrangement {
  const cellW = Math.max(1, (box.width - (cols - 1) * gap) / cols);
  const cellH = Math.max(1, (box.height - (rows - 1) * gap) / rows);
  const width = Math.max(1, Math.floor(Math.min(cellW, cellH * aspect)));
  const height = Math.max(1, Math.floor(width / aspect));
  return { cols, rows: totalRows, width, height };
}

/** A stored or asked-for choice, else 'auto'. */
export function layoutChoice(value: string | null | undefined): LayoutChoice {
  return (LAYOUT_CHOICES as readonly string[]).includes(value ?? '') ? (value as LayoutChoice) : 'auto';
}
