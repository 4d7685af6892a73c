// What was handed to a socket, to tell how old the oldest data still waiting in it is: the camera
// page's backlog (it adds to every viewer's latency), and the age of a viewer's queue on the server.

/** Entries kept at most: a socket that never reports draining must not grow this (~20 s at 50 a second). */
const MAX_ENTRIES = 1000;

export class SendLog {
  /**
   * A ring of entries, oldest at `head`: each entry's time, and the bytes handed over up to and
   * including it. (Numbers in typed arrays rather than pairs: a server adds an entry per frame per
   * viewer, and a pair would be an object to collect each time.)
   */
  private times = new Float64Array(16);
  private totals = new Float64Array(16);
  private head = 0;
  private count = 0;
  private total = 0;

  /** `bytes` handed to the socket, stamped with `time` (ms: a capture time, or when it was sent). */
  add(time: number, bytes: number): void {
    this.total += bytes;
    if (this.count === this.times.length) {
      if (this.count < MAX_ENTRIES) this.grow();
      else this.drop();
    }
    const at = (this.head + this.count) % this.times.length;
    this.times[at] = time;
    this.totals[at] = this.total;
    this.count++;
  }

  /** The time of the oldest data still in the socket, given how many bytes it holds; null when none. */
  oldest(socketBuffered: number): number | null {
    // Everything handed over before the socket's unsent bytes has left.
    const leftUpTo = this.total - socketBuffered;
    while (this.count > 0 && this.totals[this.head]! <= leftUpTo) this.drop();
    return this.count > 0 ? this.times[this.head]! : null;
  }

  private drop(): void {
    this.head = (this.head + 1) % this.times.length;
    this.count--;
  }

  private grow(): void {
    const size = Math.min(this.times.length * 2, MAX_ENTRIES);
    const times = new Float64Array(size);
    const totals = new Float64Array(size);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) % this.times.length;
      times[i] = this.times[from]!;
      totals[i] = this.totals[from]!;
    }
    this.times = times;
    this.totals = totals;
    this.head = 0;
  }
}
