import assert from "node:assert/strict";
import { H5Uploader } from "../h5_uploader.ts";
import { DOM_EVENTS } from "../events.ts";
import { manifestJson } from "../build.ts";
import { typeText } from "./manifest.ts";

const manifest = JSON.parse(await manifestJson());
const element = manifest.modules[0].declarations[0];
const names = (list: { name: string }[]) => list.map((x) => x.name).sort();

Deno.test("manifest - lists every attribute the element observes, and no other", () => {
  const observed = (H5Uploader as unknown as { observedAttributes: string[] }).observedAttributes;
  assert.deepEqual(names(element.attributes), [...observed].sort());
});

Deno.test("manifest - lists every event the element dispatches", () => {
  assert.deepEqual(names(element.events), Object.values(DOM_EVENTS).map((e) => e.eventName).sort());
});

Deno.test("manifest - documents every part and custom property the element uses", async () => {
  const view = await Deno.readTextFile(new URL("../h5_uploader.ts", import.meta.url));
  const styles = await Deno.readTextFile(new URL("../h5_uploader.styles.ts", import.meta.url));
  const parts = new Set(
    [...view.matchAll(/part="([^"$]*)(?:\$\{[^}]*\})?"/g)].flatMap((m) => m[1]!.split(/\s+/)),
  );
  for (const m of view.matchAll(/this\.#bar\([^;]*?,\s*"([\w-]+)"\)/g)) parts.add(m[1]!);
  parts.delete("");
  const documented = new Set(names(element.cssParts));
  assert.deepEqual([...parts].filter((p) => !documented.has(p)), []);
  assert.ok(parts.has("total-progress") && parts.has("progress-fill"));
  const properties = new Set([...styles.matchAll(/--h5-uploader-[\w-]+/g)].map((m) => m[0]));
  assert.deepEqual([...properties].sort(), names(element.cssProperties));
});

Deno.test("manifest - methods and read-only state are members", () => {
  const members = new Map(element.members.map((m: { name: string }) => [m.name, m]));
  for (const method of ["start", "pauseAll", "resumeAll", "cancelAll", "addFiles"]) {
    assert.equal((members.get(method) as { kind: string })?.kind, "method", method);
  }
  for (
    const field of [
      "files",
      "state",
      "connection",
      "uploadedIds",
      "uploadPaths",
      "busy",
      "complete",
    ]
  ) {
    assert.equal((members.get(field) as { readonly?: boolean })?.readonly, true, field);
  }
  assert.equal((members.get("sessionId") as { attribute?: string }).attribute, "session-id");
});

Deno.test("manifest - custom-elements.json at the repo root is up to date", async () => {
  const committed = await Deno.readTextFile(new URL("../../custom-elements.json", import.meta.url));
  assert.equal(
    committed,
    await manifestJson(),
    "custom-elements.json is stale: run deno task build",
  );
});

Deno.test("manifest - typeText renders deno doc types", () => {
  assert.equal(typeText({ kind: "keyword", value: "string" }), "string");
  assert.equal(
    typeText({
      kind: "union",
      value: [{ kind: "literal", value: { kind: "string", string: "a" } }, {
        kind: "keyword",
        value: "null",
      }],
    }),
    '"a" | null',
  );
  assert.equal(
    typeText({
      kind: "typeRef",
      value: { typeName: "Promise", typeParams: [{ kind: "keyword", value: "void" }] },
    }),
    "Promise<void>",
  );
  assert.equal(typeText(undefined), "unknown");
});
