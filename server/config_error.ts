/** A configuration the operator must fix; its message names the variable, in one line. */
export class ConfigError extends Error {
  /** `value` null: the variable is missing (another one needs it). */
  constructor(variable: string, value: string | null, expected: string) {
    super(
      value === null
        ? `Missing ${variable}: ${expected}`
        : `Invalid ${variable}="${value}": expected ${expected}`,
    );
    this.name = "ConfigError";
  }
}

/**
 * An http(s) URL from an environment variable, its trailing slash dropped: null when the
 * variable is empty, undefined when it is not such a URL (the caller names what it expects).
 */
export function httpUrl(value: string): { text: string; url: URL } | null | undefined {
  const text = value.trim().replace(/\/$/, "");
  if (!text) return null;
  try {
    const url = new URL(text);
    return /^https?:$/.test(url.protocol) ? { text, url } : undefined;
  } catch {
    return undefined;
  }
}
