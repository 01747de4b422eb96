/** The few assertions the element specs need (no assertion library to install). */
export class AssertionError extends Error {
  name = "AssertionError";
}

const show = (value) => {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};

export function ok(value, message = "expected a truthy value") {
  if (!value) throw new AssertionError(`${message} (got ${show(value)})`);
}

export function equal(actual, expected, message = "") {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`,
    );
  }
}

export function deepEqual(actual, expected, message = "") {
  if (show(actual) !== show(expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`,
    );
  }
}

export function match(text, pattern, message = "") {
  if (!pattern.test(text)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}${show(text)} does not match ${pattern}`,
    );
  }
}

/** Resolves once `condition()` is truthy (checked after each animation frame), or fails. */
export async function until(condition, what, ms = 5000) {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new AssertionError(`timed out waiting for ${what}`);
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}
