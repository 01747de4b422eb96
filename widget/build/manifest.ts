/**
 * custom-elements.json (Custom Elements Manifest 2.1) generated from the element's own
 * source: `deno doc --json` gives the class (public fields, getters, methods and their
 * types); the class JSDoc gives the `@attr`, `@fires`, `@csspart` and `@cssprop` tags.
 * Nothing is written twice, so the manifest cannot drift from the code.
 */

// The few shapes of `deno doc --json` read here.
interface DocType {
  repr?: string;
  kind: string;
  // deno-lint-ignore no-explicit-any
  value?: any;
}
interface DocJs {
  doc?: string;
  tags?: { kind: string; value?: string; doc?: string }[];
}
interface DocFunction {
  params: { name?: string; optional?: boolean; tsType?: DocType }[];
  returnType?: DocType;
}
interface DocClass {
  properties: {
    name: string;
    isStatic?: boolean;
    accessibility?: string;
    readonly?: boolean;
    tsType?: DocType;
    jsDoc?: DocJs;
  }[];
  methods: {
    name: string;
    kind: "method" | "getter" | "setter";
    isStatic?: boolean;
    isOverride?: boolean;
    accessibility?: string;
    jsDoc?: DocJs;
    functionDef: DocFunction;
  }[];
  extends?: string;
}
interface DocSymbol {
  name: string;
  declarations: { kind: string; jsDoc?: DocJs; def: DocClass }[];
}
export interface DenoDoc {
  nodes: Record<string, { symbols: DocSymbol[] }>;
}

/** Runs `deno doc --json` on one module. */
export async function denoDoc(path: string): Promise<DenoDoc> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`Cannot document ${path}: ${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** A `deno doc` type as TypeScript text. */
export function typeText(t: DocType | undefined): string {
  if (!t) return "unknown";
  const v = t.value;
  switch (t.kind) {
    case "keyword":
      return v;
    case "literal":
      return v.kind === "string" ? JSON.stringify(v.string) : String(v[v.kind] ?? t.repr);
    case "typeRef":
      return v.typeName + (v.typeParams ? `<${v.typeParams.map(typeText).join(", ")}>` : "");
    case "union":
      return v.map(typeText).join(" | ");
    case "array": {
      const inner = typeText(v);
      return v.kind === "union" ? `(${inner})[]` : `${inner}[]`;
    }
    case "typeOperator":
      return `${v.operator} ${typeText(v.tsType)}`;
    case "parenthesized":
      return `(${typeText(v)})`;
    case "typeLiteral":
      return `{ ${
        v.properties.map((p: { name: string; tsType?: DocType }) =>
          `${p.name}: ${typeText(p.tsType)}`
        ).join("; ")
      } }`;
    default:
      return t.repr || "unknown";
  }
}

const LIFECYCLE = new Set([
  "connectedCallback",
  "disconnectedCallback",
  "attributeChangedCallback",
  "formAssociatedCallback",
  "formDisabledCallback",
  "formResetCallback",
  "formStateRestoreCallback",
  "render",
  "willUpdate",
  "updated",
  "firstUpdated",
]);

/** `@tag {type} name - description` (type optional; name may be `[name=default]`). */
function parseTag(value: string) {
  const match = /^@(\w+)\s+(?:\{(.+?)\}\s+)?(\[[^\]]+\]|\S+)\s*(?:-\s*)?([\s\S]*)$/.exec(
    value.trim(),
  );
  if (!match) throw new Error(`Cannot read the JSDoc tag "${value}"`);
  const [, tag, type, rawName, description] = match;
  let name = rawName!;
  let defaultValue: string | undefined;
  if (name.startsWith("[")) {
    const [bare, value] = name.slice(1, -1).split(/=(.*)/s);
    name = bare!;
    defaultValue = value;
  }
  return { tag: tag!, type, name, default: defaultValue, description: description!.trim() };
}

const camel = (attribute: string) => attribute.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

const clean = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== "")) as T;

export interface ManifestOptions {
  /** Module path of the class, relative to the repo (e.g. `widget/h5_uploader.ts`). */
  module: string;
  className: string;
  tagName: string;
  /** Module that calls `customElements.define`. */
  definedIn: string;
}

/** The Custom Elements Manifest of one element from its `deno doc` output. */
export function buildManifest(doc: DenoDoc, options: ManifestOptions) {
  const symbol = Object.values(doc.nodes).flatMap((n) => n.symbols)
    .find((s) => s.name === options.className);
  const declaration = symbol?.declarations.find((d) => d.kind === "class");
  if (!declaration) throw new Error(`Cannot find class ${options.className} in the docs`);
  const cls = declaration.def;
  const tags = (declaration.jsDoc?.tags ?? []).flatMap((t) =>
    t.kind === "unsupported" && t.value ? [parseTag(t.value)] : []
  );
  const summary = declaration.jsDoc?.tags?.find((t) => t.kind === "summary")?.doc?.trim();
  const byTag = (tag: string) => tags.filter((t) => t.tag === tag);

  const attributes = byTag("attr").map((a) =>
    clean({
      name: a.name,
      type: a.type ? { text: a.type } : undefined,
      description: a.description,
      default: a.default,
      fieldName: camel(a.name),
    })
  );
  const attributeOf = new Map(attributes.map((a) => [a.fieldName, a.name]));
  const isPublic = (m: { name: string; isStatic?: boolean; accessibility?: string }) =>
    !m.isStatic && !m.name.startsWith("#") && (m.accessibility ?? "public") === "public";

  const fields = cls.properties.filter(isPublic).map((p) =>
    clean({
      kind: "field",
      name: p.name,
      type: { text: typeText(p.tsType) },
      description: p.jsDoc?.doc?.trim(),
      attribute: attributeOf.get(p.name),
      readonly: p.readonly || undefined,
    })
  );
  const setters = new Set(cls.methods.filter((m) => m.kind === "setter").map((m) => m.name));
  const getters = cls.methods.filter((m) => m.kind === "getter" && isPublic(m)).map((m) =>
    clean({
      kind: "field",
      name: m.name,
      type: { text: typeText(m.functionDef.returnType) },
      description: m.jsDoc?.doc?.trim(),
      attribute: attributeOf.get(m.name),
      readonly: setters.has(m.name) ? undefined : true,
    })
  );
  const methods = cls.methods
    .filter((m) => m.kind === "method" && isPublic(m) && !m.isOverride && !LIFECYCLE.has(m.name))
    .map((m) =>
      clean({
        kind: "method",
        name: m.name,
        description: m.jsDoc?.doc?.trim(),
        parameters: m.functionDef.params.length
          ? m.functionDef.params.map((p) =>
            clean({
              name: p.name,
              type: { text: typeText(p.tsType) },
              optional: p.optional || undefined,
            })
          )
          : undefined,
        return: { type: { text: typeText(m.functionDef.returnType) } },
      })
    );

  return {
    schemaVersion: "2.1.0",
    readme: "README.md",
    modules: [
      {
        kind: "javascript-module",
        path: options.module,
        declarations: [
          clean({
            kind: "class",
            name: options.className,
            tagName: options.tagName,
            customElement: true,
            summary,
            description: declaration.jsDoc?.doc?.trim(),
            superclass: cls.extends ? { name: cls.extends, package: "lit" } : undefined,
            attributes,
            members: [...fields, ...getters, ...methods],
            events: byTag("fires").map((e) =>
              clean({
                name: e.name,
                type: e.type ? { text: e.type } : undefined,
                description: e.description,
              })
            ),
            cssParts: byTag("csspart").map((p) =>
              clean({ name: p.name, description: p.description })
            ),
            cssProperties: byTag("cssprop").map((p) =>
              clean({ name: p.name, default: p.default, description: p.description })
            ),
          }),
        ],
        exports: [
          {
            kind: "js",
            name: options.className,
            declaration: { name: options.className, module: options.module },
          },
        ],
      },
      {
        kind: "javascript-module",
        path: options.definedIn,
        declarations: [],
        exports: [
          {
            kind: "custom-element-definition",
            name: options.tagName,
            declaration: { name: options.className, module: options.module },
          },
        ],
      },
    ],
  };
}
