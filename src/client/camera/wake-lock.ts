// Keeps the screen on while the camera streams: phones that sleep stop capturing. The browser drops
// the lock whenever the page is hidden, so it is taken again when the page becomes visible.

/** A screen wake lock that re-acquires itself on visibility. */
export class WakeLock {
  private sentinel: WakeLockSentinel | null = null;
  private wanted = false;
  private readonly onVisible = (): void => {
    if (this.wanted && document.visibilityState === 'visible') void this.request();
  };

  /** Holds the screen on until release(). Silently does nothing where unsupported. */
  async acquire(): Promise<void> {
    this.wanted = true;
    document.addEventListener('visibilitychange', this.onVisible);
    await this.request();
  }

  async release(): Promise<void> {
    this.wanted = false;
    document.removeEventListener('visibilitychange', this.onVisible);
    const s = this.sentinel;
    this.sentinel = null;
    await s?.release().catch(() => undefined);
  }

  /** True while the browser holds the lock. */
  get held(): boolean {
    return this.sentinel !== null && !this.sentinel.released;
  }

  private async request(): Promise<void> {
    if (!('wakeLock' in navigator) || (this.sentinel && !this.sentinel.released)) return;
    try {
      this.sentinel = await navigator.wakeLock.request('screen');
    } catch {
      // Refused (battery saver, no user gesture yet): try again on the next visibility change.
    }
  }
}
