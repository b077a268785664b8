import type { DescMethod, DescMethodUnary } from "@bufbuild/protobuf";
import type { ConnectRouter, ConnectRouterOptions, MethodImpl } from "@connectrpc/connect";
import { type UniversalHandlerOptions, validateUniversalHandlerOptions } from "@connectrpc/connect/protocol";

/** A unary procedure as registered: its method, implementation and the handler options Connect derived for it. */
export interface UnaryRegistration {
  readonly method: DescMethodUnary;
  readonly impl: MethodImpl<DescMethodUnary>;
  readonly options: UniversalHandlerOptions;
}

/**
 * Wraps a router so that every unary procedure registered on it is also
 * recorded, by request path, with the options Connect's router computes for
 * it (router options overlaid by the procedure's own, normalised the same way).
 */
export function recordingRouter(
  router: ConnectRouter,
  routerOptions: ConnectRouterOptions,
): { router: ConnectRouter; unary: Map<string, UnaryRegistration> } {
  const unary = new Map<string, UnaryRegistration>();
  const base = validateUniversalHandlerOptions(routerOptions);
  const record = (method: DescMethod, impl: unknown, options: Partial<UniversalHandlerOptions> | undefined) => {
    if (method.methodKind !== "unary" || typeof impl !== "function") return;
    // Narrowed by methodKind, which TypeScript does not carry through the union here.
    const unaryMethod = method as DescMethodUnary;
    const merged = options === undefined ? { ...routerOptions, ...base } : { ...base, ...options };
    unary.set(`/${method.parent.typeName}/${method.name}`, {
      method: unaryMethod,
      impl: impl as MethodImpl<DescMethodUnary>,
      options: validateUniversalHandlerOptions(merged),
    });
  };
  const wrapped: ConnectRouter = {
    get handlers() {
      return router.handlers;
    },
    service(service, implementation, options) {
      router.service(service, implementation, options);
      for (const method of service.methods) {
        const fn = (implementation as Record<string, unknown>)[method.localName];
        record(method, typeof fn === "function" ? fn.bind(implementation) : undefined, options);
      }
      return wrapped;
    },
    rpc(method, impl, options) {
      router.rpc(method, impl, options);
      record(method, impl, options);
      return wrapped;
    },
  };
  return { router: wrapped, unary };
}
