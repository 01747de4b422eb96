export * from "./errors.ts";
export * from "./events.ts";
export * from "./session.ts";
export * from "./tus.ts";
export * from "./status.ts";
