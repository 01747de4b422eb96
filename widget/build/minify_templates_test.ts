import assert from "node:assert/strict";
import { minifyCss, minifyHtml, minifyTemplates } from "./minify_templates.ts";

Deno.test("minify templates - html loses indentation, keeps expressions and inline text", () => {
  const source = [
    "const a = html`<ul>",
    "    ${items.map((i) => html`<li class=${i.c}>",
    "      ${i.name} · ${i.size}",
    "    </li>`)}",
    "  </ul>`;",
  ].join("\n");
  assert.equal(
    minifyTemplates(source),
    "const a = html`<ul>${items.map((i) => html`<li class=${i.c}>${i.name} · ${i.size}</li>`)}</ul>`;",
  );
});

Deno.test("minify templates - other template literals and strings are untouched", () => {
  const source = 'const s = `a\n   b`; const t = "html`x  \n y`"; const c = tag`\n  z`;';
  assert.equal(minifyTemplates(source), source);
});

Deno.test("minify templates - strings and braces inside expressions do not end them", () => {
  const source = 'html`<p title=${"}`"}>\n  ${{ a: 1 }["a"]}\n</p>`';
  assert.equal(minifyTemplates(source), 'html`<p title=${"}`"}>${{ a: 1 }["a"]}</p>`');
});

Deno.test("minify templates - css loses comments and spaces around punctuation", () => {
  assert.equal(
    minifyTemplates(`css\`
    /* theme */
    :host {
      color: var(--x, red);
      margin: 0 auto;
    }
    .a > .b,
    .c:hover { width: calc(100% - 2px); }
  \``),
    "css`:host{color:var(--x,red);margin:0 auto}.a>.b,.c:hover{width:calc(100% - 2px)}`",
  );
  assert.equal(minifyCss("a { b: c; }"), "a{b:c}");
});

Deno.test("minify templates - html keeps a space inside a line", () => {
  assert.equal(minifyHtml("<b>a</b> <i>b</i>"), "<b>a</b> <i>b</i>");
  assert.equal(minifyHtml("<b>a</b>\n  <i>b</i>"), "<b>a</b><i>b</i>");
  assert.equal(minifyHtml("a\n  b"), "a b");
});

Deno.test("minify templates - an unterminated template is an error", () => {
  assert.throws(() => minifyTemplates("html`<p>"), /unterminated/);
});
