import * as http2 from "node:http2";
import { performance } from "node:perf_hooks";
import type { ServerConnectionOptions } from "../transport.js";
import type { StreamActivity } from "./server-stream.js";
import {
  DEFAULT_KEEPALIVE_MIN_TIME_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_SERVER_KEEPALIVE_TIME_MS,
  Keepalive,
  PingStrikes,
} from "./keepalive.js";

const { NGHTTP2_NO_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** The largest stream id: a GOAWAY carrying it announces the end without refusing any stream yet. */
const MAX_STREAM_ID = 2 ** 31 - 1;
/** Spread of MAX_CONNECTION_AGE per connection (gRFC A9: ±10%). */
const AGE_JITTER = 0.1;

/**
 * What one server connection (HTTP/2 session) does besides carrying streams: keepalive pings to the
 * client, policing the client's pings, and closing the connection when it has been idle or alive too
 * long (gRFC A8, A9). Every timer is unref'd and cleared when the session closes.
 */
export class ServerSessionManager implements StreamActivity {
  private activeStreams = 0;
  /** When the stream count last fell to zero (or the session started). */
  private idleSince = performance.now();
  private readonly strikes: PingStrikes;
  private readonly keepalive: Keepalive | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private pingWaitTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private goingAway = false;
  /** Set between the two GOAWAY frames of a graceful close: sends the second one. */
  private finishGoaway: (() => void) | undefined;
  private closed = false;
  private readonly keepaliveTimeoutMs: number;
  private deadCheckTimer: NodeJS.Timeout | undefined;
  private bytesReadAtLastCheck = 0;
  /** Bytes of probe acks read since the last check. */
  private probeAckBytes = 0;
  /** When each probe PING of the dead check not acknowledged yet was sent, oldest first. */
  private readonly probesUnanswered: number[] = [];

  constructor(
    private readonly session: http2.ServerHttp2Session,
    private readonly options: ServerConnectionOptions,
  ) {
    this.keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
    this.strikes = new PingStrikes(options.keepaliveMinTimeMs ?? DEFAULT_KEEPALIVE_MIN_TIME_MS, options.keepalivePermitWithoutCalls ?? false);
    session.on("ping", () => this.onPing());
    session.once("close", () => this.dispose());
    this.scheduleDeadCheck();

    const keepaliveTimeMs = options.keepaliveTimeMs ?? DEFAULT_SERVER_KEEPALIVE_TIME_MS;
    if (keepaliveTimeMs > 0 && keepaliveTimeMs !== Infinity) {
      // Server pings go out whether or not calls are open (gRFC A9).
      this.keepalive = new Keepalive(session, keepaliveTimeMs, this.keepaliveTimeoutMs, {
        mayPing: () => true,
        onTimeout: () => this.session.destroy(),
      });
      this.keepalive.start();
    }
    const idleMs = options.maxConnectionIdleMs;
    if (idleMs !== undefined && idleMs > 0 && idleMs !== Infinity) this.scheduleIdleCheck(idleMs);
    const ageMs = options.maxConnectionAgeMs;
    if (ageMs !== undefined && ageMs > 0 && ageMs !== Infinity) {
      const jittered = ageMs * (1 - AGE_JITTER + 2 * AGE_JITTER * Math.random());
      this.ageTimer = setTimeout(() => this.goAway("max_age", options.maxConnectionAgeGraceMs), jittered);
      this.ageTimer.unref();
    }
  }

  /** A stream opened on this session. */
  streamOpened(): void {
    this.activeStreams++;
  }

  /** A stream of this session closed. */
  streamClosed(): void {
    if (--this.activeStreams > 0) return;
    this.idleSince = performance.now();
    // See goAway: with no stream left, nghttp2 stops reading, so the PING's answer would never be seen.
    this.finishGoaway?.();
  }

  /** The server is sending HEADERS or DATA: the client may ping again (gRFC A8 enforcement). */
  sent(): void {
    this.strikes.reset();
  }


  /**
   * Graceful termination (gRFC A9, RFC 9113 §6.8): GOAWAY with the largest stream id and a PING; once
   * the PING is acknowledged every stream the client sent before seeing the GOAWAY has arrived, and a
   * second GOAWAY names the last one processed. Running streams then finish; after `graceMs` (counted
   * from the second GOAWAY) the connection is cut.
   *
   * Two things node's nghttp2 does shape this. It takes no new stream once any GOAWAY has gone out, so
   * a stream racing the first GOAWAY is not served but refused by the second one's stream id, and the
   * client replays it on a new connection. And once a GOAWAY has gone out and no stream is open, it
   * stops reading the connection, so the PING's answer would never be seen: then the second GOAWAY
   * follows at once (also when the last stream ends while the answer is awaited).
   */
  goAway(reason: string, graceMs?: number): void {
    if (this.goingAway || this.closed || this.session.closed || this.session.destroyed) return;
    this.goingAway = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.ageTimer);
    const session = this.session;
    const secondGoaway = (): void => {
      if (this.finishGoaway === undefined) return;
      this.finishGoaway = undefined;
      clearTimeout(this.pingWaitTimer);
      this.pingWaitTimer = undefined;
      if (session.closed || session.destroyed) return;
      // close(): GOAWAY with the last stream processed, then the session ends after its last stream.
      session.close();
      if (graceMs !== undefined && graceMs !== Infinity && !session.destroyed) {
        this.graceTimer = setTimeout(() => session.destroy(), Math.max(graceMs, 0));
        this.graceTimer.unref();
      }
    };
    this.finishGoaway = secondGoaway;
    this.pingWaitTimer = setTimeout(secondGoaway, this.keepaliveTimeoutMs);
    this.pingWaitTimer.unref();
    try {
      session.goaway(NGHTTP2_NO_ERROR, MAX_STREAM_ID, Buffer.from(reason));
      if (this.activeStreams === 0) secondGoaway();
      else session.ping(() => secondGoaway());
    } catch {
      secondGoaway();
    }
  }

  private onPing(): void {
    this.keepalive?.noteRead();
    if (this.strikes.onPing(this.activeStreams, bytesWrittenOf(this.session))) return;
    // gRFC A8: GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"), then close at once, failing running calls
    // so that the client's author notices the misconfiguration.
    try {
      this.session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from("too_many_pings"));
    } catch {
      // already going
    }
    this.session.destroy(undefined, NGHTTP2_ENHANCE_YOUR_CALM);
  }

  /** Checks idleness when it may have lasted `idleMs`; sleeps again for the remainder otherwise. */
  private scheduleIdleCheck(idleMs: number, delayMs = idleMs): void {
    this.idleTimer = setTimeout(() => {
      if (this.activeStreams > 0) {
        this.scheduleIdleCheck(idleMs);
        return;
      }
      const idleFor = performance.now() - this.idleSince;
      if (idleFor >= idleMs) this.goAway("max_idle");
      else this.scheduleIdleCheck(idleMs, idleMs - idleFor);
    }, Math.max(delayMs, 1));
    this.idleTimer.unref();
  }

  /**
   * RFC 9113 §5.4.1: after a connection error and its GOAWAY, the endpoint MUST close the TCP
   * connection. nghttp2 (inside node:http2) detects most connection errors itself (DATA on stream 0, a
   * bad HPACK block, an oversized frame, a malformed SETTINGS frame, a rapid-reset burst, an endless
   * header block): it sends GOAWAY with the right code and then neither reads nor writes again, and node
   * tells JavaScript nothing, so the socket would stay open (CLOSE_WAIT once the peer hangs up) until
   * the process ends. node exposes no "session terminated" state, so it is probed: whenever the peer
   * has sent something since the last check besides the acks of earlier probes (the socket's byte
   * counter, kept by the handle, also counts what node reads on its own), or the previous probe is still
   * unanswered, a PING is submitted. A live session writes it within an event-loop turn; a terminated
   * one keeps it queued forever. The session counts as dead only when the PING is
   * still queued on two checks DEAD_CHECK_SETTLE_MS apart while nothing was being written to the socket
   * and nothing was written between them: a slow peer that leaves our writes pending is never taken for
   * dead. The GOAWAY left long before the check, so the socket is destroyed at once. A probe that was
   * written but stays unanswered for the keepalive timeout also ends the session: after a rapid-reset
   * burst nghttp2 sends GOAWAY(INTERNAL_ERROR) and stops reading but not writing, and only time tells
   * such a session from a slow peer. The cost: on a connection that is receiving, one 17-byte PING
   * (and its ack) per DEAD_CHECK_INTERVAL_MS; an idle connection is never probed.
   */
  private scheduleDeadCheck(): void {
    this.deadCheckTimer = setTimeout(() => this.deadCheck(), DEAD_CHECK_INTERVAL_MS);
    this.deadCheckTimer.unref();
  }

  private deadCheck(): void {
    const session = this.session;
    if (this.closed || session.destroyed) return;
    const io = socketIo(session);
    // The acks of our own probes are reads too: left in, each ack would call for the next probe.
    const readSomething = io !== undefined && io.bytesRead - this.bytesReadAtLastCheck - this.probeAckBytes > 0;
    if (io !== undefined) {
      this.bytesReadAtLastCheck = io.bytesRead;
      this.probeAckBytes = 0;
    }
    // An unanswered probe means either a slow peer or a session that stopped reading right after it
    // sent the probe (nghttp2 sends its GOAWAY, and may send frames queued with it, before it stops):
    // a second probe tells which, at most one at a time beyond the first.
    const unanswered = this.probesUnanswered;
    if (unanswered.length > 0 && performance.now() - unanswered[0]! > this.keepaliveTimeoutMs) {
      // Written but never answered for as long as a keepalive ping may take (gRFC A8): either the peer
      // is gone or node stopped reading (it does so after a GOAWAY for a rapid-reset burst, while still
      // writing). Either way the connection is dead.
      session.destroy();
      return;
    }
    if (io === undefined || (!readSomething && unanswered.length !== 1)) {
      this.scheduleDeadCheck();
      return;
    }
    try {
      unanswered.push(performance.now());
      session.ping((err) => {
        unanswered.shift();
        if (!err) this.probeAckBytes += PING_FRAME_BYTES;
      });
    } catch {
      unanswered.pop();
      // node refuses a ping only when the session is closing or has too many unanswered: no probe now
      this.scheduleDeadCheck();
      return;
    }
    this.deadCheckTimer = setTimeout(() => {
      const first = socketIo(session);
      if (this.closed || session.destroyed || first === undefined || !looksStuck(session, first)) {
        this.scheduleDeadCheck();
        return;
      }
      this.deadCheckTimer = setTimeout(() => {
        const second = socketIo(session);
        if (this.closed || session.destroyed) return;
        if (second !== undefined && looksStuck(session, second) && second.bytesWritten === first.bytesWritten) {
          session.destroy();
          return;
        }
        this.scheduleDeadCheck();
      }, DEAD_CHECK_SETTLE_MS);
      this.deadCheckTimer.unref();
    }, DEAD_CHECK_SETTLE_MS);
    this.deadCheckTimer.unref();
  }

  private dispose(): void {
    this.closed = true;
    clearTimeout(this.deadCheckTimer);
    this.keepalive?.stop();
    for (const timer of [this.idleTimer, this.ageTimer, this.pingWaitTimer, this.graceTimer]) clearTimeout(timer);
    this.pingWaitTimer = undefined;
    this.finishGoaway = undefined;
  }
}

/** What the session's socket has written so far (the TLS or TCP socket; 0 if it is already gone). */
function bytesWrittenOf(session: http2.Http2Session): number {
  try {
    return session.socket?.bytesWritten ?? 0;
  } catch {
    return 0;
  }
}

/** How often a session is checked for having been terminated by nghttp2 (see scheduleDeadCheck). */
const DEAD_CHECK_INTERVAL_MS = 250;
/** A PING frame (and its ack) on the wire: 9-byte header, 8 bytes of data. */
const PING_FRAME_BYTES = 17;
/** The gap between the two looks of one check. */
const DEAD_CHECK_SETTLE_MS = 60;

interface SocketIo {
  bytesRead: number;
  bytesWritten: number;
  /** Bytes handed to the socket's handle and not yet taken by the kernel (0: no write in progress). */
  writeQueueSize: number;
}

function socketIo(session: http2.Http2Session): SocketIo | undefined {
  try {
    const socket = session.socket as (typeof session.socket & { _handle?: { writeQueueSize?: number } }) | undefined;
    if (!socket) return undefined;
    return { bytesRead: socket.bytesRead, bytesWritten: socket.bytesWritten, writeQueueSize: socket._handle?.writeQueueSize ?? 0 };
  } catch {
    return undefined;
  }
}

/** nghttp2 holds frames to send while the socket has no write in progress: it will never send them. */
function looksStuck(session: http2.Http2Session, io: SocketIo): boolean {
  let queued = 0;
  try {
    queued = session.state.outboundQueueSize ?? 0;
  } catch {
    return false;
  }
  return queued > 0 && io.writeQueueSize === 0;
}
