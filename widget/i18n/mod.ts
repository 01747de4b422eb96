/**
 * Language choice: the nearest `lang` (the element's own, an ancestor's, the document's),
 * then the browser's languages; the first supported one wins, English otherwise.
 */
import { en } from "./en.ts";
import type { Strings } from "./strings.ts";
import { zhCN } from "./zh_cn.ts";

export type { Strings } from "./strings.ts";
export { en, zhCN };

export type Lang = "en" | "zh-CN";

/** Maps a BCP 47 tag to a built-in dictionary (`zh`, `zh-Hans`, `zh-TW` → zh-CN). */
export function supportedLang(tag: string | null | undefined): Lang | null {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return primary === "zh" ? "zh-CN" : primary === "en" ? "en" : null;
}

/** The first supported language of the candidates, in order; English when none is. */
export function resolveLang(candidates: Iterable<string | null | undefined>): Lang {
  for (const tag of candidates) {
    const lang = supportedLang(tag);
    if (lang) return lang;
  }
  return "en";
}

export function stringsFor(lang: Lang): Strings {
  return lang === "zh-CN" ? zhCN : en;
}
