import type * as http2 from "node:http2";
import { performance } from "node:perf_hooks";

/** gRFC A8 / A9 defaults. */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 20_000;
export const DEFAULT_SERVER_KEEPALIVE_TIME_MS = 2 * 60 * 60 * 1000;
export const DEFAULT_KEEPALIVE_MIN_TIME_MS = 5 * 60 * 1000;

export interface KeepaliveHooks {
  /** Asked when a ping is due; false puts the pinger to sleep until `wake()` (client: no open call). */
  mayPing(): boolean;
  /** The ping was not acknowledged in time: the connection is dead. */
  onTimeout(): void;
}

/**
 * The keepalive pinger of one HTTP/2 session (gRFC A8): a PING once nothing has been read from the
 * peer for `timeMs`, and `onTimeout` when its ack does not come within `timeoutMs`. The interval is
 * measured from the last read, never from the last ping sent, so that a server permitting exactly
 * `timeMs` never sees pings closer together than that. Reads are noted with a timestamp (cheap on the
 * hot path); the timer checks it when it fires and sleeps again for the remainder.
 */
export class Keepalive {
  private lastReadAt = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private sleeping = false;
  private stopped = false;

  constructor(
    private readonly session: http2.Http2Session,
    private readonly timeMs: number,
    private readonly timeoutMs: number,
    private readonly hooks: KeepaliveHooks,
  ) {}

  /** Something arrived from the peer: the connection is alive. */
  noteRead(): void {
    this.lastReadAt = performance.now();
  }

  start(): void {
    this.schedule(this.timeMs);
  }

  /**
   * A call starts. A sleeping pinger resumes; when nothing was read for `timeMs`, the ping goes out
   * now, ahead of the call's HEADERS, so a dead connection shows within `timeoutMs` (A8).
   */
  wake(): void {
    if (!this.sleeping || this.stopped) return;
    this.sleeping = false;
    const quiet = performance.now() - this.lastReadAt;
    if (quiet >= this.timeMs) this.ping();
    else this.schedule(this.timeMs - quiet);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.timer = undefined;
    this.watchdog = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), Math.max(delayMs, 1));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.stopped || this.watchdog !== undefined) return;
    const quiet = performance.now() - this.lastReadAt;
    if (quiet < this.timeMs) {
      this.schedule(this.timeMs - quiet);
    } else if (!this.hooks.mayPing()) {
      this.sleeping = true;
    } else {
      this.ping();
    }
  }

  private ping(): void {
    if (this.stopped || this.watchdog !== undefined) return;
    const session = this.session;
    if (session.destroyed || session.closed) return;
    try {
      // The callback also runs (with an error) when the session goes away first: nothing to do then.
      session.ping((err) => {
        if (err || this.stopped) return;
        clearTimeout(this.watchdog);
        this.watchdog = undefined;
        this.noteRead();
        this.schedule(this.timeMs);
      });
    } catch {
      return; // the session is closing
    }
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (!this.stopped) this.hooks.onTimeout();
    }, this.timeoutMs);
    this.watchdog.unref();
  }
}

/** At most this many pings in a row closer together than permitted (gRFC A8 MAX_PING_STRIKES). */
const MAX_PING_STRIKES = 2;
/** Without calls and without permit-without-calls, a client may ping once per TCP keepalive period. */
const PING_INTERVAL_WITHOUT_CALLS_MS = 2 * 60 * 60 * 1000;

/** The most pings banked by DATA sent (see PingStrikes.onPing). */
const MAX_PING_CREDITS = 256;
/** Bytes of one full DATA frame at HTTP/2's default SETTINGS_MAX_FRAME_SIZE, frame header included. */
const FULL_DATA_FRAME = 16_384 + 9;
/** Bytes of a PING ack. */
const PING_ACK = 17;
/**
 * Bytes the connection may write besides PING acks without that counting as HEADERS or DATA: a pair of
 * WINDOW_UPDATE frames (13 each) and a SETTINGS ack (9), which the server sends in answer to the client.
 */
const CONTROL_SLACK = 2 * 13 + 9;

/**
 * The server's ping policing (gRFC A8 "Server Enforcement"): a ping sooner than permitted after the
 * last valid one is a strike, and a client with more than two strikes is misbehaving. Sending HEADERS
 * or DATA wipes the slate clean, since the peer may then ping to measure latency or bandwidth.
 *
 * What counts as "sent" is measured, not guessed from the handler's writes: a large response leaves in
 * many DATA bursts paced by the client's window updates, long after the handler's one write, and
 * grpc-go/grpc-java clients ping after DATA they receive (BDP estimation). node has no per-frame "sent"
 * event, so at each ping the connection's byte counter (what actually reached the socket) is compared
 * with its value at the previous ping; what exceeds the PING acks and a little control-frame slack went
 * out as HEADERS or DATA. That resets the strikes, and every full DATA frame's worth of it also earns the
 * client one ping that is never a strike: a client that answers every DATA frame with a PING (a BDP
 * estimator at its most eager) sends several pings per window's worth of DATA, all arriving after the
 * server sent that burst and before it may send the next. Pings stay bounded by the server's own output
 * (one 17-byte ack per DATA frame at most), so this cannot turn into a flood.
 */
export class PingStrikes {
  private lastValidAt = -Infinity;
  private strikes = 0;
  private credits = 0;
  private bytesAtLastPing = 0;
  /** PING acks the byte counter has yet to show (node may write several at once, later). */
  private ackBytesOwed = 0;

  constructor(
    private readonly minTimeMs: number,
    private readonly permitWithoutCalls: boolean,
  ) {}

  /** The server sent HEADERS or DATA. */
  reset(): void {
    this.lastValidAt = -Infinity;
    this.strikes = 0;
  }

  /**
   * A PING arrived; `bytesWritten` is the connection's socket byte counter now. False means "too many
   * pings": the connection must go.
   */
  onPing(activeStreams: number, bytesWritten: number): boolean {
    const written = bytesWritten - this.bytesAtLastPing;
    this.bytesAtLastPing = bytesWritten;
    const surplus = written - this.ackBytesOwed;
    this.ackBytesOwed = Math.max(0, this.ackBytesOwed - written) + PING_ACK;
    if (surplus > CONTROL_SLACK) {
      this.reset();
      this.credits = Math.min(MAX_PING_CREDITS, this.credits + Math.floor(surplus / FULL_DATA_FRAME));
    }
    if (this.credits > 0) {
      this.credits--;
      return true;
    }
    const now = performance.now();
    const permitted = activeStreams === 0 && !this.permitWithoutCalls ? Math.max(PING_INTERVAL_WITHOUT_CALLS_MS, this.minTimeMs) : this.minTimeMs;
    if (now - this.lastValidAt >= permitted) {
      this.lastValidAt = now;
      return true;
    }
    this.strikes++;
    return this.strikes <= MAX_PING_STRIKES;
  }
}
