import { Concatenation } from "./concatenation.ts";
import type { Completion } from "./completion.ts";
import type { UploadContext } from "./context.ts";
import type { DomainEvents } from "./domain_events.ts";

/**
 * The concatenation of tus partial uploads, wired to the service's parts. Late-bound
 * (`parts()`): completion needs the concatenation and the join's steps need completion.
 */
export function concatenationOf(
  ctx: UploadContext,
  parts: () => { completion: Completion; events: DomainEvents },
): Concatenation {
  return new Concatenation({
    store: ctx.store,
    storage: ctx.storage,
    locker: ctx.locker,
    lockTimeoutMs: ctx.config.lockTimeoutMs,
    ...(ctx.config.lockLeaseMs === undefined ? {} : { leaseMs: ctx.config.lockLeaseMs }),
    steps: {
      now: () => ctx.now(),
      maxSize: (upload) => ctx.maxSize(upload),
      fail: (upload, code, message) => parts().completion.fail(upload, code, message),
      started: (upload) => parts().events.announceStarted(upload),
      finish: (joined) => parts().completion.finishJoined(joined),
    },
  });
}
