import type { SocketAddress } from "../../../transport/transport.js";
import type { Resolver } from "../register-resolver.js";
import type { NameResolver, ResolverListener } from "../resolver.js";
import type { Target } from "../target.js";

/**
 * A public one-shot Resolver as a channel resolver: `resolve` runs when the channel starts and on every
 * `resolveNow`, one at a time (a request during a run starts one more after it). Every answer is pushed;
 * the channel paces its requests (it asks again at most once per backoff delay).
 */
export class OneShotResolver implements NameResolver {
  private running = false;
  private again = false;
  private closed = false;

  constructor(
    private readonly resolver: Resolver,
    private readonly target: Target,
    private readonly listener: ResolverListener,
  ) {
    this.run();
  }

  resolveNow(): void {
    if (this.closed) return;
    if (this.running) this.again = true;
    else this.run();
  }

  close(): void {
    this.closed = true;
  }

  private run(): void {
    this.running = true;
    let answer: Promise<SocketAddress[]>;
    try {
      answer = Promise.resolve(this.resolver.resolve(this.target));
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (addresses) => {
        if (!this.closed) this.listener.onUpdate({ endpoints: addresses.map((address) => [address]) });
      },
      (err: unknown) => {
        if (!this.closed) this.listener.onError(err instanceof Error ? err : new Error(String(err)));
      },
    ).finally(() => {
      this.running = false;
      if (this.again && !this.closed) {
        this.again = false;
        this.run();
      }
    });
  }
}
