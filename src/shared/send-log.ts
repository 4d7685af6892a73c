// What was handed to a socket, to tell how old the oldest data still waiting in it is: the camera
// page's backlog (it adds to every viewer's latency), and the age of a viewer's queue on the server.

/** Entries kept at most: a socket that never reports draining must not grow this (~20 s at 50 a second). */
const MAX_ENTRIES = 1000;

export class SendLog {
  /** [capture time, bytes handed over up to and including this entry], oldest first. */
  private entries: [number, number][] = [];
  private total = 0;

  /** `bytes` handed to the socket, stamped with `time` (ms: a capture time, or when it was sent). */
  add(time: number, bytes: number): void {
    this.total += bytes;
    this.entries.push([time, this.total]);
    if (this.entries.length > MAX_ENTRIES) this.entries.shift();
  }

  /** The time of the oldest data still in the socket, given how many bytes it holds; null when none. */
  oldest(socketBuffered: number): number | null {
    // Everything handed over before the socket's unsent bytes has left.
    const leftUpTo = this.total - socketBuffered;
    while (this.entries.length > 0 && this.entries[0]![1] <= leftUpTo) this.entries.shift();
    return this.entries[0]?.[0] ?? null;
  }
}
