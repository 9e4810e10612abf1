/**
 * Routes keyed on method and path, registered in groups. A route declares how its caller is authenticated,
 * where its input comes from and what it answers; the request pipeline (src/pipeline.ts) reads these
 * declarations instead of special-casing paths. Generic: the handler type is the caller's.
 */

/**
 * How a route's caller proves who it is. 'sigv4': an AWS Signature V4 over the request (the AWS
 * operations). 'session-token': a token in the query string, issued earlier by a SigV4 call (HLS and DASH
 * session resources, which players fetch with plain GETs). 'none': open to anyone who can reach kvsd.
 */
export type Authentication = 'sigv4' | 'session-token' | 'none';

/** Where a route's input is: a JSON body, request headers (PutMedia), the query string, or nowhere. */
export type InputSource = 'json' | 'headers' | 'query' | 'none';

/** What a route answers: a JSON document the pipeline writes, or a response its handler writes itself. */
export type Answer = 'json' | 'stream';

export interface RouteSpec {
  method: 'GET' | 'POST';
  path: string;
  /** The operation's name, as logs, quotas, permissions and metrics know it. */
  name: string;
  auth: Authentication;
  input: InputSource;
  answers: Answer;
}

/** Routes that belong together and are registered at once (the AWS operations, /health, ...). */
export interface RouteGroup<R extends RouteSpec> {
  name: string;
  routes: readonly R[];
}

/** A lookup's result: the route, or none, and in that case the routes other methods have at that path. */
export interface RouteMatch<R extends RouteSpec> {
  route?: R;
  /** Routes at the same path under other methods (empty when the path is unknown). */
  samePath: readonly R[];
}

export class Router<R extends RouteSpec> {
  private readonly byPath = new Map<string, Map<string, R>>();

  add(group: RouteGroup<R>): this {
    for (const route of group.routes) {
      let methods = this.byPath.get(route.path);
      if (!methods) this.byPath.set(route.path, (methods = new Map()));
      if (methods.has(route.method)) {
        throw new Error(`route group '${group.name}': ${route.method} ${route.path} is already routed`);
      }
      methods.set(route.method, route);
    }
    return this;
  }

  match(method: string | undefined, path: string): RouteMatch<R> {
    const methods = this.byPath.get(path);
    if (!methods) return { samePath: [] };
    const route = method === undefined ? undefined : methods.get(method);
    return route ? { route, samePath: [] } : { samePath: [...methods.values()] };
  }

  /** Every route, in registration order per path. */
  routes(): R[] {
    return [...this.byPath.values()].flatMap((methods) => [...methods.values()]);
  }
}

/** The path of a request target, without its query string. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}
