/**
 * `<h5-uploader>` as a page uses it, from the built bundle, with no server: what it renders,
 * what it refuses, its languages, its native input, its parts, its form value and events.
 * (The uploads themselves are tested against the real server in tests/browser/.)
 */
import { deepEqual, equal, match, ok, until } from "./assert.js";

// The built bundle, loaded by the browser from the repository root. Not a static import:
// `deno check widget` walks this folder, and dist/ exists only after `deno task build`.
const BUNDLE = "../../dist/h5-uploader.js";
await import(BUNDLE);

/** An address nothing answers on (Chromium refuses port 9 outright): requests fail fast. */
const NOWHERE = "http://127.0.0.1:9";

const made = [];

/** An element from HTML, attached to the document and rendered. */
async function mount(html) {
  const host = document.createElement("div");
  host.innerHTML = html;
  document.body.append(host);
  made.push(host);
  const el = host.querySelector("h5-uploader");
  await el.updateComplete;
  return el;
}

const jpeg = (name, size = 16) => {
  const bytes = new Uint8Array(size);
  bytes.set([0xff, 0xd8, 0xff, 0xe0]);
  return new File([bytes], name, { type: "image/jpeg" });
};

const $ = (el, selector) => el.shadowRoot.querySelector(selector);
const $$ = (el, selector) => [...el.shadowRoot.querySelectorAll(selector)];
const text = (node) => node.textContent.replace(/\s+/g, " ").trim();

afterEach(() => {
  for (const host of made.splice(0)) host.remove();
});

describe("h5-uploader", () => {
  it("is defined by the bundle", () => {
    const Ctor = customElements.get("h5-uploader");
    ok(Ctor, "customElements.get('h5-uploader')");
    const el = document.createElement("h5-uploader");
    ok(el instanceof Ctor && el instanceof HTMLElement);
    for (const method of ["addFiles", "start", "pauseAll", "resumeAll", "cancelAll"]) {
      equal(typeof el[method], "function", method);
    }
  });

  it("renders a drop zone around a native file input with zero attributes", async () => {
    const el = await mount("<h5-uploader></h5-uploader>");
    const zone = $(el, "[part~=dropzone]");
    ok(zone, "the dropzone part");
    equal(zone.localName, "label");
    const input = zone.querySelector("input[type=file]");
    ok(input, "a native input[type=file] inside the drop zone");
    equal(input.multiple, false);
    equal(input.hasAttribute("capture"), false);
    equal(input.hasAttribute("accept"), false);
    equal($$(el, "[part~=file]").length, 0);
    deepEqual(el.files, []);
  });

  it("refuses by accept, max-size and max-files, one message per refused file", async () => {
    const el = await mount(
      `<h5-uploader lang="en" endpoint="${NOWHERE}" accept="image/*" max-size="1KB" max-files="2">
      </h5-uploader>`,
    );
    const result = el.addFiles([
      new File(["hello"], "notes.txt", { type: "text/plain" }),
      jpeg("huge.jpg", 4000),
      jpeg("one.jpg"),
      jpeg("two.jpg"),
      jpeg("three.jpg"),
    ]);
    deepEqual(result.added.map((f) => f.name), ["one.jpg", "two.jpg"]);
    deepEqual(
      result.rejected.map((r) => [r.name, r.reason]),
      [["notes.txt", "type"], ["huge.jpg", "size"], ["three.jpg", "count"]],
    );
    await el.updateComplete;
    const messages = $$(el, "[part~=messages] [part~=message]").map(text);
    equal(messages.length, 3, "one message per refused file");
    equal(messages[0], "“notes.txt”: File type not allowed (image/*)");
    equal(messages[1], "“huge.jpg”: File too large (1000 B)");
    equal(messages[2], "“three.jpg”: Too many files (2)");
    equal($$(el, "[part~=file]").length, 2);
  });

  it("speaks zh-CN or en as its lang says", async () => {
    const zh = await mount('<h5-uploader lang="zh-CN" client-type="web"></h5-uploader>');
    const en = await mount('<h5-uploader lang="en" client-type="web"></h5-uploader>');
    match(text($(zh, "[part~=dropzone]")), /选择文件/);
    match(text($(en, "[part~=dropzone]")), /Choose files/);
    zh.addFiles([jpeg("a.jpg")]);
    en.addFiles([jpeg("a.jpg")]);
    await zh.updateComplete;
    await en.updateComplete;
    ok($$(zh, "button").some((b) => text(b) === "开始上传"), "zh-CN start button");
    ok($$(en, "button").some((b) => text(b) === "Start upload"), "en start button");
    equal($(zh, "[part~=base]").lang, "zh-CN");
    equal($(en, "[part~=base]").lang, "en");
  });

  it("passes multiple, capture and accept to the native input", async () => {
    const el = await mount(
      '<h5-uploader multiple capture="environment" accept="image/*,video/*"></h5-uploader>',
    );
    const input = $(el, "input[type=file]");
    equal(input.multiple, true);
    equal(input.getAttribute("capture"), "environment");
    equal(input.accept, "image/*,video/*");
    el.removeAttribute("multiple");
    el.setAttribute("capture", "user");
    await el.updateComplete;
    equal(input.multiple, false);
    equal(input.getAttribute("capture"), "user");
  });

  it("has every ::part that custom-elements.json documents", async () => {
    const manifest = await (await fetch("/custom-elements.json")).json();
    const declaration = manifest.modules.flatMap((m) => m.declarations ?? [])
      .find((d) => d.tagName === "h5-uploader");
    const documented = declaration.cssParts.map((p) => p.name);
    ok(documented.length > 0, "parts in the manifest");

    // Files listed, one refused, then a failed start (nothing answers): every part shows,
    // but the connection indicator, which needs a session, and the Continue action of a row
    // listed after a reload (tests/browser/reload_test.ts renders both).
    const el = await mount(`<h5-uploader lang="en" endpoint="${NOWHERE}" accept="image/*">
      </h5-uploader>`);
    el.addFiles([jpeg("a.jpg"), new File(["x"], "b.txt", { type: "text/plain" })]);
    await el.start();
    await until(() => el.files[0]?.status === "failed", "the start to fail");
    await el.updateComplete;
    const rendered = new Set(
      $$(el, "[part]").flatMap((node) => node.getAttribute("part").split(/\s+/).filter(Boolean)),
    );
    const needsServer = ["connection", "continue"];
    const missing = documented.filter((p) => !rendered.has(p) && !needsServer.includes(p));
    deepEqual(missing, [], "documented parts not rendered");
    const undocumented = [...rendered].filter((p) => !documented.includes(p));
    deepEqual(undocumented, [], "parts rendered but not documented");
    ok(documented.includes("connection"), "the connection part is documented");
  });

  it("is a form field: required fails validation until a file is uploaded", async () => {
    const el = await mount(`<form><h5-uploader name="photos" required lang="en"
      endpoint="${NOWHERE}"></h5-uploader></form>`);
    const form = el.closest("form");
    equal(el.constructor.formAssociated, true);
    equal(form.checkValidity(), false, "empty");
    el.addFiles([jpeg("a.jpg")]);
    await el.updateComplete;
    equal(form.checkValidity(), false, "a file listed but not uploaded");
    deepEqual(new FormData(form).getAll("photos"), []);
    ok([...form.elements].includes(el), "listed in form.elements");

    const optional = await mount('<form><h5-uploader name="photos"></h5-uploader></form>');
    equal(optional.closest("form").checkValidity(), true, "not required");
  });

  it("fires bubbling, composed h5-* events that the document hears", async () => {
    const el = await mount(`<h5-uploader lang="en" endpoint="${NOWHERE}"></h5-uploader>`);
    const heard = [];
    const listen = (event) => heard.push(event);
    document.addEventListener("h5-upload-error", listen);
    try {
      el.addFiles([jpeg("a.jpg")]);
      await el.start();
      await until(() => heard.length > 0, "h5-upload-error on the document");
    } finally {
      document.removeEventListener("h5-upload-error", listen);
    }
    const [event] = heard;
    equal(event.target, el);
    equal(event.bubbles, true);
    equal(event.composed, true);
    equal(event.detail.file.name, "a.jpg");
    equal(event.detail.error.code, "NETWORK_ERROR");
    equal(event.detail.willRetry, false);
    equal(el.files[0].status, "failed");
  });

  it("shows a failed file's error in its language, the engine's message as the title", async () => {
    const el = await mount(`<h5-uploader lang="zh-CN" endpoint="${NOWHERE}"></h5-uploader>`);
    el.addFiles([jpeg("a.jpg")]);
    await el.start();
    await until(() => el.files[0]?.status === "failed", "the file failed");
    await el.updateComplete;
    const error = $(el, "[part~=error]");
    equal(text(error), "网络连接中断");
    equal(error.title, "Network error");
  });
});
