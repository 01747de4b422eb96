/** Who makes a request: the holder of one session's token, or an anonymous tus client. */
export type Principal = { kind: "session"; sessionId: string } | { kind: "anonymous" };

export const ANONYMOUS: Principal = { kind: "anonymous" };
