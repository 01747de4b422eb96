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
