/**
 * The content check (issue #7, item 16) through a real server whose categories come from the
 * environment: what the `file-type` detector recognises in the first bytes decides (zip, docx,
 * mp3, mp4 ...), types without a signature (plain text, CSV) pass on their declared type and
 * extension, and a known binary signature under a harmless name is refused with 415.
 */
import assert from "node:assert/strict";
import { fileBytes } from "../server/testing/harness.ts";
import { createSession, createUpload, getSnapshot, patch } from "./support/http.ts";
import { scoped } from "./support/scope.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const enc = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** One stored (uncompressed) zip entry: local file header, name, data (APPNOTE 4.3.7). */
function zipEntry(name: string, data: string): Uint8Array {
  const n = enc.encode(name);
  const d = enc.encode(data);
  const header = new Uint8Array(30);
  const v = new DataView(header.buffer);
  v.setUint32(0, 0x04034b50, true);
  v.setUint16(4, 20, true);
  v.setUint32(18, d.length, true);
  v.setUint32(22, d.length, true);
  v.setUint16(26, n.length, true);
  return concat(header, n, d);
}

const HEADS = {
  zip: zipEntry("hello.txt", "hello"),
  // Word's own layout: [Content_Types].xml first, naming the main part's type.
  docx: concat(
    zipEntry(
      "[Content_Types].xml",
      '<Types><Override PartName="/word/document.xml" ContentType="' +
        `${DOCX}.main+xml"/></Types>`,
    ),
    zipEntry("word/document.xml", "<w:document/>"),
  ),
  // An ID3v2.4 tag of 8 KiB (album art) that runs past the 4100 bytes sniffed.
  mp3: new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x40, 0]),
  mp4: concat(new Uint8Array([0, 0, 0, 0x18]), enc.encode("ftypisom\0\0\x02\0isomiso2")),
  elf: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e]),
  mz: concat(enc.encode("MZ"), new Uint8Array(58), new Uint8Array([0x80, 0, 0, 0])),
};

const ENV = {
  H5_PERSONAL_ALLOWED_TYPES:
    `application/zip,${DOCX},audio/mpeg,video/mp4,text/plain,text/csv,image/svg+xml`,
  H5_SCENIC_ALLOWED_TYPES: "image/*",
};

const SVG = enc.encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
const XML_SVG = concat(enc.encode('<?xml version="1.0"?>\n'), SVG);

interface Sent {
  status: number;
  code: string | undefined;
  uploadPath: string | undefined;
}

/** Creates (declared name and type) and sends `bytes` in one PATCH. */
async function send(
  server: TestServer,
  file: { filename: string; filetype: string; bytes: Uint8Array<ArrayBuffer> },
  category: "personal" | "scenic" = "personal",
): Promise<Sent> {
  const session = await createSession(server.url, category);
  const up = await createUpload(server.url, session, {
    ...file,
    size: file.bytes.length,
    category,
  });
  const answer = await patch(up.location, session.token, 0, file.bytes);
  const snapshot = await getSnapshot(server.url, session);
  return {
    status: answer.status,
    code: answer.error?.code,
    uploadPath: snapshot.files.find((f) => f.id === up.id)?.uploadPath,
  };
}

Deno.test("content types: zip, docx, mp3 and mp4 are recognised by their first bytes", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: ENV });
    const cases = [
      { filename: "a.zip", filetype: "application/zip", head: HEADS.zip, ext: ".zip" },
      // Windows browsers declare a zip as x-zip-compressed.
      { filename: "b.zip", filetype: "application/x-zip-compressed", head: HEADS.zip, ext: ".zip" },
      { filename: "c.docx", filetype: DOCX, head: HEADS.docx, ext: ".docx" },
      { filename: "d.mp3", filetype: "audio/mpeg", head: HEADS.mp3, ext: ".mp3" },
      { filename: "e.mp4", filetype: "video/mp4", head: HEADS.mp4, ext: ".mp4" },
    ];
    for (const c of cases) {
      // Larger than the 4100 bytes sniffed: the check runs on the head, mid-upload.
      for (const size of [c.head.length, 20_000]) {
        const bytes = fileBytes(size, c.head);
        const sent = await send(server, { filename: c.filename, filetype: c.filetype, bytes });
        assert.equal(sent.status, 204, `${c.filename} (${size} bytes): ${sent.code}`);
        assert.ok(sent.uploadPath?.endsWith(c.ext), `${c.filename} stored as ${sent.uploadPath}`);
      }
    }
  }));

Deno.test("content types: plain text and CSV pass on their declared type and extension", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: ENV });
    const text = enc.encode("Dear diary,\nno signature here.\n".repeat(300));
    const csv = enc.encode("id,name\n1,Ada\n2,Grace\n");
    for (
      const [filename, filetype, bytes, ext] of [
        ["notes.txt", "text/plain", text, ".txt"],
        ["notes.txt", "text/plain; charset=utf-8", text.slice(0, 100), ".txt"],
        ["people.csv", "text/csv", csv, ".csv"],
        // A generic declared type: the extension names it.
        ["people.csv", "application/octet-stream", csv, ".csv"],
        // Named exactly by the category: an SVG is text with or without an XML prolog.
        ["logo.svg", "image/svg+xml", SVG, ".svg"],
        ["logo.svg", "image/svg+xml", XML_SVG, ".svg"],
      ] as const
    ) {
      const sent = await send(server, { filename, filetype, bytes: bytes.slice() });
      assert.equal(sent.status, 204, `${filename} as ${filetype}: ${sent.code}`);
      assert.ok(sent.uploadPath?.endsWith(ext), `${filename} stored as ${sent.uploadPath}`);
    }
  }));

Deno.test("content types: a disguised executable is refused with 415 FILE_TYPE_NOT_ALLOWED", () =>
  scoped(async (scope) => {
    const server = await startTestServer({ scope, env: ENV });
    const cases = [
      { filename: "readme.txt", filetype: "text/plain", head: HEADS.elf, category: "personal" },
      { filename: "readme.txt", filetype: "text/plain", head: HEADS.mz, category: "personal" },
      { filename: "photo.jpg", filetype: "image/jpeg", head: HEADS.mz, category: "scenic" },
      { filename: "photo.jpg", filetype: "image/jpeg", head: HEADS.elf, category: "scenic" },
      // Not the executable case, but the same rule: a docx type over text is no docx.
      {
        filename: "c.docx",
        filetype: DOCX,
        head: enc.encode("just text"),
        category: "personal",
      },
      // image/* stands for images with a signature: an SVG (script inside) must be named.
      { filename: "logo.svg", filetype: "image/svg+xml", head: SVG, category: "scenic" },
      { filename: "logo.svg", filetype: "image/svg+xml", head: XML_SVG, category: "scenic" },
    ] as const;
    for (const c of cases) {
      for (const size of [c.head.length, 9000]) {
        const bytes = fileBytes(size, c.head);
        const sent = await send(server, { ...c, bytes }, c.category);
        const what = `${c.filename} (${c.filetype}, ${size} bytes)`;
        assert.equal(sent.status, 415, what);
        assert.equal(sent.code, "FILE_TYPE_NOT_ALLOWED", what);
        assert.equal(sent.uploadPath, undefined, what);
      }
    }
  }));
