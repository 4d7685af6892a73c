// Every page from the keyboard alone: Tab reaches every control, each says what it is (a name a
// screen reader reads: its text or aria-label), and shows where the focus is (a visible outline).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchChromium, newContext } from '../helpers/browser.ts';
import { healthyStream, startTestServer } from '../helpers/server.ts';

/** Tabs through the page: each control reached, its name, and whether its focus shows. */
async function tabThrough(page: Page, max = 40): Promise<{ name: string; ring: boolean; tag: string }[]> {
  const seen: { name: string; ring: boolean; tag: string }[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const name = (el.getAttribute('aria-label') ?? (el as HTMLInputElement).labels?.[0]?.textContent ?? el.textContent ?? '').trim().replace(/\s+/g, ' ');
      const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
      return { name, ring, tag: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className}`, key: el.outerHTML.slice(0, 120) };
    });
    if (!at) break;
    if (seen.some((s) => s.tag === at.tag && s.name === at.name)) break;
    seen.push({ name: at.name, ring: at.ring, tag: at.tag });
  }
  return seen;
}

describe('keyboard', { timeout: 90_000 }, () => {
  it('reaches every control of the viewer, Settings and camera pages, each named, with its focus shown', async (t) => {
    const server = await startTestServer();
    const stream = await healthyStream(server.wsUrl, 'porch', 'Porch');
    const browser = await launchChromium();
    try {
      const context = await newContext(browser, { width: 1366, height: 657 });
      const page = await context.newPage();
      const problems: string[] = [];
      for (const [path, ready] of [
        ['/', '.tile[data-playing]'],
        ['/settings', '#devices:not([hidden])'],
        ['/camera', '#start'],
      ] as const) {
        await page.goto(server.page(path));
        await page.waitForSelector(ready, { timeout: 20_000 });
        const reached = await tabThrough(page);
        t.diagnostic(`${path}: ${reached.length} controls by Tab: ${reached.map((r) => r.name || r.tag).join(' | ')}`);
        assert.ok(reached.length >= 3, path);
        for (const r of reached) {
          if (!r.name) problems.push(`${path}: ${r.tag} has no name`);
          if (!r.ring) problems.push(`${path}: ${r.tag} (${r.name}) shows no focus`);
        }
      }
      assert.deepEqual(problems, []);
    } finally {
      stream.stop();
      await browser.close();
      await server.stop();
    }
  });
});
