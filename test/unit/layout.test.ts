// The viewer's arrangement of tiles: the largest tiles for the window and the number of cameras.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { arrange, layoutChoice } from '../../src/client/viewer/layout.ts';

const WIDE = 16 / 9;

describe('viewer layout', () => {
  it('fills the space with one camera, and picks the columns that give the largest tiles', () => {
    assert.deepEqual(arrange('auto', 1, { width: 1342, height: 560 }, WIDE, 8), { cols: 1, rows: 1, width: 995, height: 559 });
    // Four 16:9 cameras on a wide screen: 2×2; on a phone held upright: one above the other.
    assert.equal(arrange('auto', 4, { width: 1900, height: 880 }, WIDE, 8).cols, 2);
    assert.equal(arrange('auto', 4, { width: 374, height: 700 }, WIDE, 8).cols, 1);
    // Nine on 1366×657 less the bar: 3×3, every tile inside the box (no page scroll).
    const nine = arrange('auto', 9, { width: 1342, height: 560 }, WIDE, 8);
    assert.deepEqual([nine.cols, nine.rows], [3, 3]);
    assert.ok(nine.rows * nine.height + (nine.rows - 1) * 8 <= 560 && nine.cols * nine.width + (nine.cols - 1) * 8 <= 1342);
    // Four on a phone would be 224 px wide to fit: full-width rows that scroll instead.
    assert.deepEqual(arrange('auto', 4, { width: 374, height: 700 }, 4 / 3, 8, 300), { cols: 1, rows: 4, width: 374, height: 280 });
    assert.equal(arrange('auto', 4, { width: 1342, height: 560 }, 4 / 3, 8, 300).cols, 2, 'no effect where tiles are large enough');
    // Three on a wide, short window: side by side.
    assert.equal(arrange('auto', 3, { width: 1900, height: 400 }, WIDE, 8).cols, 3);
  });

  it('keeps a fixed grid people chose, more cameras continuing below', () => {
    assert.deepEqual(arrange('4', 9, { width: 1000, height: 600 }, WIDE, 0), { cols: 2, rows: 5, width: 500, height: 281 });
    assert.deepEqual(arrange('9', 2, { width: 900, height: 600 }, WIDE, 0), { cols: 3, rows: 1, width: 300, height: 168 });
    assert.equal(arrange('1', 3, { width: 800, height: 450 }, WIDE, 0).width, 800);
    assert.equal(arrange('auto', 0, { width: 800, height: 450 }, WIDE, 0).width, 800);
  });

  it('never sizes a tile below a pixel, and reads a stored choice safely', () => {
    const tiny = arrange('auto', 50, { width: 10, height: 10 }, WIDE, 8);
    assert.ok(tiny.width >= 1 && tiny.height >= 1);
    assert.equal(layoutChoice('9'), '9');
    assert.equal(layoutChoice('16'), 'auto');
    assert.equal(layoutChoice(null), 'auto');
  });
});
