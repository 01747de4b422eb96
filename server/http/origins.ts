/**
 * The embed allow-list: requests without Origin (servers, curl, tus clients outside a
 * browser) and from the server's own origin always pass; others must be listed.
 */
export function originPolicy(allowed: readonly string[]) {
  const any = allowed.includes("*");
  const set = new Set(allowed);
  return (origin: string | null | undefined, selfOrigin?: string): boolean =>
    !origin || any || set.has(origin) || origin === selfOrigin;
}

/** The origin a request was addressed to (what a same-origin page would send). */
export function selfOrigin(request: Request): string {
  return new URL(request.url).origin;
}
