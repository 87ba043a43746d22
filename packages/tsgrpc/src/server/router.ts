import type { MethodHandler } from "./method-handler.js";

/**
 * Finds the handler for a request path: exact registrations first, then generic handlers in the order
 * added (the reference API's `GenericRpcHandler.service`, asked with the method name).
 */
export type GenericHandler = (path: string) => MethodHandler | undefined;

export class Router {
  private readonly methods = new Map<string, MethodHandler>();
  private readonly generic: GenericHandler[] = [];

  add(path: string, handler: MethodHandler): void {
    if (!/^\/[^/]+\/[^/]+$/.test(path)) throw new Error(`method path must look like "/package.Service/Method", got "${path}"`);
    if (this.methods.has(path)) throw new Error(`method ${path} is already registered`);
    this.methods.set(path, handler);
  }

  addGeneric(handler: GenericHandler): void {
    this.generic.push(handler);
  }

  lookup(path: string): MethodHandler | undefined {
    const exact = this.methods.get(path);
    if (exact) return exact;
    for (const find of this.generic) {
      const found = find(path);
      if (found) return found;
    }
    return undefined;
  }

  /** Registered service names, e.g. for reflection. */
  serviceNames(): string[] {
    const names = new Set<string>();
    for (const path of this.methods.keys()) names.add(path.slice(1, path.lastIndexOf("/")));
    return [...names];
  }
}
