// What is kept in memory for joiners (each feed's latest group of pictures) is charged to a pool:
// one per client address within one for the whole server, so that no one address (one leaked
// camera link opening many sockets) can make the server keep more than its share. A feed whose pool
// refuses gives up its kept group: its joiners wait for the next keyframe, nothing else changes.

/** A byte budget, within an optional larger one. */
export class RetentionPool {
  private usedBytes = 0;

  constructor(
    readonly limit: number,
    private readonly parent: RetentionPool | null = null,
  ) {}

  /** Bytes charged now. */
  get used(): number {
    return this.usedBytes;
  }

  /** Charges `bytes` if this pool and its parent have room; false (nothing charged) if not. */
  take(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limit) return false;
    if (this.parent && !this.parent.take(bytes)) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** Gives back what `take` charged. */
  give(bytes: number): void {
    this.usedBytes -= bytes;
    this.parent?.give(bytes);
  }
}
