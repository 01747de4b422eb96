/**
 * Deadlines for end-to-end waits: these tests never sleep to synchronise; every wait is on an
 * event or a promise, bounded by a deadline that names what did not happen. Shared with the
 * tools that start processes (tools/services/).
 */
export { DeadlineError, WAIT_MS, within } from "../../tools/services/deadline.ts";
