/**
 * esbuild leaves template literals alone, so Lit's `html` and `css` templates would ship
 * with their indentation. This collapses the whitespace of their static parts (never of
 * the `${}` expressions, never of other template literals).
 */

/**
 * Minifies the static text of every html`` and css`` template in `source`. Strings and
 * comments outside templates are skipped; a regex literal holding a quote or a backtick
 * would confuse this scanner (the widget's sources have none).
 */
export function minifyTemplates(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && (next === "/" || next === "*")) {
      const end = next === "/" ? source.indexOf("\n", i) : source.indexOf("*/", i + 2) + 2;
      const stop = end <= 1 || end === -1 ? source.length : end;
      out += source.slice(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      const end = stringEnd(source, i);
      out += source.slice(i, end);
      i = end;
    } else if (c === "`") {
      const tag = /\b(html|css)$/.exec(source.slice(Math.max(0, i - 4), i))?.[1];
      const [text, end] = template(source, i + 1, (tag as "html" | "css" | undefined) ?? null);
      out += "`" + text;
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just after the string literal starting at `i`. */
function stringEnd(src: string, i: number): number {
  let j = i + 1;
  while (j < src.length && src[j] !== src[i]) j += src[j] === "\\" ? 2 : 1;
  return j + 1;
}

/** Reads a template from just after its backtick; returns [new text incl. the closing `, end]. */
function template(src: string, i: number, kind: "html" | "css" | null): [string, number] {
  let out = "";
  let chunk = "";
  let first = true;
  const flush = (last: boolean) => {
    let text = kind === "html" ? minifyHtml(chunk) : kind === "css" ? minifyCss(chunk) : chunk;
    if (kind === "css" && first) text = text.trimStart();
    if (kind === "css" && last) text = text.trimEnd();
    out += text;
    chunk = "";
    first = false;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\") {
      chunk += src.slice(i, i + 2);
      i += 2;
    } else if (c === "`") {
      flush(true);
      return [out + "`", i + 1];
    } else if (c === "$" && src[i + 1] === "{") {
      flush(false);
      const [expression, end] = expressionAt(src, i + 2);
      out += "${" + expression;
      i = end;
    } else {
      chunk += c;
      i++;
    }
  }
  throw new Error("Cannot minify templates: unterminated template literal");
}

/** Reads a `${...}` body from after `${`; nested templates are handled recursively. */
function expressionAt(src: string, i: number): [string, number] {
  let out = "";
  let depth = 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "'" || c === '"') {
      const end = stringEnd(src, i);
      out += src.slice(i, end);
      i = end;
      continue;
    }
    if (c === "`") {
      const tag = /\b(html|css)$/.exec(out)?.[1] as "html" | "css" | undefined;
      const [text, end] = template(src, i + 1, tag ?? null);
      out += "`" + text;
      i = end;
      continue;
    }
    if (c === "{") depth++;
    if (c === "}" && --depth === 0) return [out + "}", i + 1];
    out += c;
    i++;
  }
  throw new Error("Cannot minify templates: unterminated ${} expression");
}

/**
 * Whitespace with a line break is source formatting: next to a tag it goes, elsewhere it
 * becomes one space. (So a space that matters between inline elements stays on one line.)
 */
export function minifyHtml(text: string): string {
  return text
    .replace(/>\s*\n\s*/g, ">")
    .replace(/\s*\n\s*</g, "<")
    .replace(/\s*\n\s*/g, " ");
}

/** Comments go, whitespace collapses, and none is left around punctuation. */
export function minifyCss(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\s+/g, " ")
    .replace(/\s*([{};,>])\s*/g, "$1")
    .replace(/:\s+/g, ":")
    .replace(/;}/g, "}");
}
