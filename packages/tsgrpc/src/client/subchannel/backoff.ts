/**
 * Reconnect backoff as in grpc/grpc doc/connection-backoff.md: the first retry after `initialMs`, each
 * next one `multiplier` times longer up to `maxMs`, every delay spread by ±`jitter`.
 */
export interface BackoffOptions {
  initialMs?: number;
  multiplier?: number;
  jitter?: number;
  maxMs?: number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly maxMs: number;
  private nextBaseMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.multiplier = options.multiplier ?? 1.6;
    this.jitter = options.jitter ?? 0.2;
    this.maxMs = options.maxMs ?? 120_000;
    this.nextBaseMs = this.initialMs;
  }

  /** The delay before the next attempt; each call advances the sequence. */
  next(): number {
    const base = this.nextBaseMs;
    this.nextBaseMs = Math.min(base * this.multiplier, this.maxMs);
    return base * (1 + this.jitter * (Math.random() * 2 - 1));
  }

  /** After a successful connection the sequence starts over. */
  reset(): void {
    this.nextBaseMs = this.initialMs;
  }
}
