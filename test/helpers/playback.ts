// Playing a recording in a test without racing it: the player is paused by the page itself the
// moment it starts playing (its own `playing` event), so what the test reads is the position the
// click asked for. A test that polls for playback and pauses then can be seconds late on a busy
// machine: the player had played to the end of its segment and gone on to the next (3.6 s on).

/**
 * Run in the page before the click: the player (#player) pauses itself as soon as it plays; and
 * `window.__metaDuration` keeps the duration it knew when the file's header was read.
 */
export const PAUSE_ON_PLAY = `(() => {
  const v = document.getElementById('player');
  window.__played = false;
  window.__metaDuration = null;
  v.addEventListener('loadedmetadata', () => { window.__metaDuration = v.duration; }, { once: true });
  v.addEventListener('playing', () => { window.__played = true; v.pause(); }, { once: true });
  return true;
})()`;

/** True in the page once the player has played, is paused, and shows the frame where it stands. */
const SETTLED = `(() => {
  const v = document.getElementById('player');
  return window.__played === true && v.paused && !v.seeking && v.readyState >= 2 && Number(document.getElementById('player-time').dataset.time) > 0;
})()`;

/**
 * Waits until SETTLED holds, asking through `evaluate` (Playwright's, puppeteer's or the WebKit
 * session's: each runs a string past the page's CSP, which forbids the eval a string predicate of
 * waitForFunction would need in Chromium).
 */
export async function settled(evaluate: (expression: string) => Promise<unknown>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await evaluate(SETTLED))) {
    if (Date.now() > deadline) throw new Error(`the recording did not start playing within ${timeoutMs} ms of the click`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Run in the Recordings page: where on the screen the timeline shows wall time `t` (ms), panning
 * it (the page's own Earlier / Later buttons) until it does and scrolling it into view: `{ x, y }`
 * for a person's click, and how many ms one pixel is there.
 */
export const whereOnTimeline = (t: number): string => `(() => {
  const tl = document.getElementById('timeline');
  for (let k = 0; k < 200; k++) {
    const from = Number(tl.dataset.from), to = Number(tl.dataset.to);
    if (${t} < from) document.getElementById('earlier').click();
    else if (${t} >= to) document.getElementById('later').click();
    else {
      tl.scrollIntoView({ block: 'center' });
      const r = tl.getBoundingClientRect();
      return { x: r.left + tl.clientLeft + ((${t} - from) / (to - from)) * tl.clientWidth, y: r.top + 20, msPerPx: (to - from) / tl.clientWidth };
    }
  }
  throw new Error('the timeline never showed ${t}');
})()`;
