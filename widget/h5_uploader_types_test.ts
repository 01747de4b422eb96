/**
 * The hand-written public types (`h5_uploader.d.ts`, shipped as dist/h5-uploader.d.ts)
 * against the code: a mismatch is a type error, so `deno test` fails to start.
 */
import assert from "node:assert/strict";
import type * as Public from "./h5_uploader.d.ts";
import type * as Types from "./engine/types.ts";
import type { CategoryLimits } from "../protocol/session.ts";
import type { Category, ClientType } from "../protocol/events.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import type * as Events from "./events.ts";
import type { H5Uploader } from "./h5_uploader.ts";
import type { AddResult } from "./upload_controller.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
type Expect<T extends true> = T;

export type Checks = [
  Expect<Equal<Public.Category, Category>>,
  Expect<Equal<Public.ClientType, ClientType>>,
  Expect<Equal<Public.ErrorCode, ErrorCode>>,
  Expect<Equal<Public.FileStatus, Types.FileStatus>>,
  Expect<Equal<Public.FileError, Types.FileError>>,
  Expect<Equal<Public.FileSnapshot, Types.FileSnapshot>>,
  Expect<Equal<Public.ConnectionState, Types.ConnectionState>>,
  Expect<Equal<Public.CategoryLimits, CategoryLimits>>,
  Expect<Equal<Public.Totals, Types.EngineSnapshot["totals"]>>,
  Expect<Equal<Public.UploaderState, Types.EngineSnapshot>>,
  Expect<Equal<Public.Rejection, Types.Rejection>>,
  Expect<Equal<Public.AddResult, AddResult>>,
  Expect<Equal<Public.H5UploadStartEvent["detail"], Events.H5UploadStartEvent["detail"]>>,
  Expect<Equal<Public.H5UploadProgressEvent["detail"], Events.H5UploadProgressEvent["detail"]>>,
  Expect<Equal<Public.H5UploadCompleteEvent["detail"], Events.H5UploadCompleteEvent["detail"]>>,
  Expect<Equal<Public.H5UploadErrorEvent["detail"], Events.H5UploadErrorEvent["detail"]>>,
  Expect<
    Equal<Public.H5SessionCompleteEvent["detail"], Events.H5SessionCompleteEvent["detail"]>
  >,
];

/** Every public member declared for the element has the element's exact type. */
type PublicMembers = Exclude<keyof Public.H5Uploader, keyof HTMLElement>;
type Mismatched = {
  [K in PublicMembers]: Equal<Public.H5Uploader[K], H5Uploader[K & keyof H5Uploader]> extends true
    ? never
    : K;
}[PublicMembers];
export type MemberChecks = Expect<Equal<Mismatched, never>>;

Deno.test("h5_uploader.d.ts - declares every public member of the element", async () => {
  const { H5Uploader } = await import("./h5_uploader.ts");
  const source = await Deno.readTextFile(new URL("./h5_uploader.d.ts", import.meta.url));
  const declared = new Set(
    [
      ...source.slice(source.indexOf("class H5Uploader")).matchAll(
        /^ {2}(?:readonly |get )?(\w+)[(:]/gm,
      ),
    ]
      .map((m) => m[1]),
  );
  const proto = H5Uploader.prototype as object;
  const own = Object.getOwnPropertyNames(proto).filter((name) =>
    !name.startsWith("_") && name !== "constructor" &&
    !/Callback$|^(render|updated)$/.test(name)
  );
  const fields = Object.keys(
    (H5Uploader as unknown as { properties: Record<string, unknown> }).properties,
  ).filter((name) => name !== "lang");
  assert.deepEqual([...new Set([...own, ...fields])].filter((n) => !declared.has(n)), []);
});
