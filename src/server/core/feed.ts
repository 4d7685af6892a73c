// One source of media (a camera's frames, or a muxer's output) fanned out to its consumers, each
// with its own bounded queue, under the one policy the product has for late and slow consumers:
// - a joiner starts at a keyframe: the latest one if it is fresh, else the next one, which the
//   camera is asked for at once (a camera that does not answer: the kept one after KEYFRAME_WAIT_MS);
// - a consumer whose queue is full has its video dropped up to the next keyframe it can take, and
//   is told how many frames it missed; it goes on without starting over;
// - what is kept for joiners is the latest group of pictures, bounded in bytes.
// The queue itself is the consumer's (a socket's buffer, a recorder's disk writes): the feed only
// asks whether it is full (`congested`) or past its hard limit (`choked`).
import type { TrackKind } from '../../media/frames.ts';
import { FRESH_KEYFRAME_MS } from '../../shared/protocol.ts';
import type { RetentionPool } from './retention.ts';

/** A joiner waiting for the keyframe it asked for gets the kept group after this long (a camera that does not answer). */
export const KEYFRAME_WAIT_MS = 300;
/** Keyframe requests to the camera at most this often: one keyframe serves every consumer waiting. */
export const KEYFRAME_REQUEST_SPACING_MS = 250;
/** A consumer's own keyframe requests count at most this often (one viewer must not degrade everyone's stream). */
export const CONSUMER_KEYFRAME_SPACING_MS = 1000;

/** What the feed needs to know of an item. */
export interface FeedItem {
  /** Decoding (or a muxed stream) can start here: a video keyframe. */
  readonly key: boolean;
  readonly track: TrackKind;
}

/** A consumer as the feed sees it. */
export interface FeedSink<I> {
  /** Its queue is full (in bytes or in age): its video is dropped up to a keyframe. */
  congested(): boolean;
  /** Its queue is past the hard limit: not even sound is queued for it. */
  choked(): boolean;
  /** (Re)starts it: what it needs to start, from a keyframe on (a header of its own goes first). */
  join(items: readonly I[]): void;
  send(item: I): void;
  /** It missed `frames` video frames; what follows starts at a keyframe. */
  skipped(frames: number): void;
}

/** How a feed treats its items. */
export interface FeedOptions<I> {
  /**
   * True (separate tracks, like WebCodecs chunks): sound is not kept for joiners and keeps flowing
   * to a consumer whose queue is merely full. False (a muxed stream): sound is part of the stream,
   * kept and dropped with the video around it.
   */
  separateAudio: boolean | (() => boolean);
  /** Bytes kept for joiners before giving up on the current group of pictures. */
  maxRetainedBytes: number;
  /** The pool what is kept is also charged to (the source's address's share); none: only maxRetainedBytes bounds it. */
  pool?: () => RetentionPool | null;
  /** What keeping an item costs: its bytes and the memory of the object around them. */
  size(item: I): number;
  /** Asks the source for a keyframe. */
  requestKeyframe(): void;
  /** Whether the source makes keyframes when asked (a MediaRecorder cannot): if not, joiners start from the kept one at once. */
  keyframesOnRequest?: () => boolean;
  now?: () => number;
}

/**
 * Per consumer: `waiting` to (re)join (the kept group first); `skipping`: in step, but its queue
 * was full, so its video is dropped up to the next keyframe it can take, `skipped` counting the
 * video frames it missed.
 */
interface ConsumerState<I> {
  readonly sink: FeedSink<I>;
  waiting: boolean;
  skipping: boolean;
  skipped: number;
  askedAt: number;
}

/** A source's items fanned out to consumers; see the module comment. Between start() and end() it is active. */
export class Feed<I extends FeedItem> {
  private active = false;
  /** Items from the latest keyframe on; empty when a joiner must wait. */
  private gop: I[] = [];
  private gopBytes = 0;
  /** The pool `gopBytes` are charged to (given back to the same one, whatever the source's pool is by then). */
  private charged: RetentionPool | null = null;
  private keyAt = -Infinity;
  private keyRequestedAt = -Infinity;
  private joinTimer: NodeJS.Timeout | null = null;
  /** (Iterated by value: a frame visits every consumer, and entry pairs would be garbage per visit.) */
  private readonly consumers = new Map<FeedSink<I>, ConsumerState<I>>();
  private readonly now: () => number;

  constructor(private readonly opts: FeedOptions<I>) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** True between start() and end(). */
  get streaming(): boolean {
    return this.active;
  }

  /** Number of consumers. */
  get size(): number {
    return this.consumers.size;
  }

  has(sink: FeedSink<I>): boolean {
    return this.consumers.has(sink);
  }

  /** A new stream (or period) begins: every consumer starts over at its first keyframe. */
  start(): void {
    this.clear();
    this.active = true;
    for (const c of this.consumers.values()) {
      c.waiting = true;
      c.skipping = false;
      c.skipped = 0;
    }
  }

  /** The stream ended: nothing is kept; consumers stay attached for the next start(). */
  end(): void {
    this.clear();
    this.active = false;
  }

  /** Attaches a consumer (or starts it over); it joins at a keyframe. */
  add(sink: FeedSink<I>): void {
    const c: ConsumerState<I> = { sink, waiting: true, skipping: false, skipped: 0, askedAt: this.consumers.get(sink)?.askedAt ?? -Infinity };
    this.consumers.set(sink, c);
    if (!this.active || sink.congested()) return;
    if (this.gop.length > 0 && (this.now() - this.keyAt <= FRESH_KEYFRAME_MS || this.opts.keyframesOnRequest?.() === false)) {
      this.join(c);
      return;
    }
    this.askKeyframe();
    this.joinTimer ??= setTimeout(() => this.joinFromKept(), KEYFRAME_WAIT_MS).unref();
  }

  /** Detaches a consumer; returns whether it was attached. */
  remove(sink: FeedSink<I>): boolean {
    return this.consumers.delete(sink);
  }

  /** A consumer's decoder needs a keyframe (it drops video until one comes); heeded at most once a second per consumer. */
  keyframeWanted(sink: FeedSink<I>): void {
    const c = this.consumers.get(sink);
    const now = this.now();
    if (!this.active || !c || now - c.askedAt < CONSUMER_KEYFRAME_SPACING_MS) return;
    c.askedAt = now;
    this.askKeyframe();
  }

  /** One item from the source, in order. */
  push(item: I): void {
    if (!this.active) return;
    const audio = item.track === 'audio';
    const separateAudio = this.opts.separateAudio;
    // (A camera without a picture has only sound: then sound is what joiners start from.)
    const separate = audio && (typeof separateAudio === 'function' ? separateAudio() : separateAudio);
    const now = this.now();
    if (!separate) this.keep(item);
    let waiting = false;
    let ready = false;
    for (const c of this.consumers.values()) {
      const sink = c.sink;
      if (c.waiting) {
        if (item.key && !separate && !sink.congested()) this.join(c);
        else {
          // Still waiting: its timer to start from the kept keyframe stays (a camera that does not answer).
          waiting = true;
          if (!sink.congested()) ready = this.mayAsk(c, now) || ready;
        }
      } else if (separate) {
        // Sound is small and keeps flowing while the queue is merely full; not once it is choked.
        if (!sink.choked()) sink.send(item);
      } else if (c.skipping) {
        if (item.key && !sink.congested()) {
          // Caught up: it goes on from this keyframe. Tell it how much it missed.
          sink.skipped(c.skipped);
          c.skipping = false;
          sink.send(item);
        } else {
          if (!audio) c.skipped++;
          if (!sink.congested()) ready = this.mayAsk(c, now) || ready;
        }
      } else if (sink.congested()) {
        // Its queue is full: drop its video (and, in a muxed stream, everything) up to the next keyframe it can take.
        c.skipping = true;
        if (!audio) c.skipped++;
      } else {
        sink.send(item);
      }
    }
    if (ready) {
      // Someone can start (a new stream, a consumer that caught up): get it a keyframe soon.
      this.askKeyframe();
      this.joinTimer ??= setTimeout(() => this.joinFromKept(), KEYFRAME_WAIT_MS).unref();
    } else if (!waiting && this.joinTimer) {
      clearTimeout(this.joinTimer);
      this.joinTimer = null;
    }
  }

  /**
   * Whether a consumer that could start again may have a keyframe asked for it now: at most once a
   * second each, so that one whose queue keeps filling and draining cannot make the camera send
   * keyframes (bigger frames, for everyone) over and over.
   */
  private mayAsk(c: ConsumerState<I>, now: number): boolean {
    if (now - c.askedAt < CONSUMER_KEYFRAME_SPACING_MS) return false;
    c.askedAt = now;
    return true;
  }

  private keep(item: I): void {
    if (item.key) {
      this.drop();
      this.keyAt = this.now();
    } else if (this.gop.length === 0) {
      return;
    }
    const size = this.opts.size(item);
    // No keyframe for too long, or this source's share of memory is used up: joiners wait for the next one.
    if (this.gopBytes + size > this.opts.maxRetainedBytes || !this.charge(size)) {
      this.drop();
      return;
    }
    this.gop.push(item);
    this.gopBytes += size;
  }

  private charge(bytes: number): boolean {
    if (this.gop.length === 0) this.charged = this.opts.pool?.() ?? null;
    return this.charged === null || this.charged.take(bytes);
  }

  /** Lets go of the kept group (and gives its bytes back). */
  private drop(): void {
    this.charged?.give(this.gopBytes);
    this.charged = null;
    this.gop = [];
    this.gopBytes = 0;
  }

  private askKeyframe(): void {
    const now = this.now();
    // One request at a time: the keyframe it brings serves every consumer waiting by then.
    const pending = this.keyRequestedAt > this.keyAt && now - this.keyRequestedAt < KEYFRAME_WAIT_MS;
    if (pending || now - this.keyRequestedAt < KEYFRAME_REQUEST_SPACING_MS) return;
    this.keyRequestedAt = now;
    this.opts.requestKeyframe();
  }

  /** The keyframe asked for did not come: start waiting consumers from the kept one. */
  private joinFromKept(): void {
    this.joinTimer = null;
    if (!this.active) return;
    for (const c of this.consumers.values()) if (c.waiting && !c.sink.congested()) this.join(c);
  }

  private join(c: ConsumerState<I>): void {
    if (this.gop.length === 0) return;
    // (join() may detach this very consumer, e.g. one that cannot play the stream.)
    c.waiting = false;
    c.skipping = false;
    c.skipped = 0;
    c.sink.join(this.gop);
  }

  private clear(): void {
    this.drop();
    this.keyAt = -Infinity;
    this.keyRequestedAt = -Infinity;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }
}
