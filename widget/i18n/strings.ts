/**
 * Every text the element shows or announces. A dictionary is a typed object: a key missing
 * from `en` or `zhCN` is a compile error. Plurals and parameters are small functions.
 */
import type { ConnectionState, FileStatus, Rejection } from "../engine/types.ts";

export type FileAction = "pause" | "resume" | "cancel" | "retry" | "remove" | "continue";

export interface Strings {
  /** BCP 47 tag of the dictionary (the `lang` of the rendered view). */
  readonly locale: string;
  /** Drop zone title; `mobile` is true on touch devices (no drag and drop there). */
  pick(mobile: boolean): string;
  /** Drop zone hint under the title. */
  pickHint(mobile: boolean): string;
  /** Limits line: null parts are unknown and left out. */
  limits(maxFiles: number | null, maxSize: string | null): string;
  /** Name of the file list for assistive technology. */
  readonly fileList: string;
  readonly start: string;
  readonly pauseAll: string;
  readonly resumeAll: string;
  readonly cancelAll: string;
  /** Verbs of the per-file buttons. */
  readonly actions: Readonly<Record<FileAction, string>>;
  /** Accessible name of a per-file button: the verb and the file ("Pause photo.jpg"). */
  fileAction(verb: string, name: string): string;
  readonly status: Readonly<Record<FileStatus, string>>;
  /** Status of an upload listed after a reload: kept here (`ready`), or its file is needed. */
  readonly waiting: Readonly<Record<"ready" | "file", string>>;
  /** The file picked to continue `name` is another one (name, size, date or first bytes). */
  notSameFile(name: string): string;
  /** "retry 2/3" while an automatic retry runs. */
  retrying(attempt: number, max: number): string;
  /** Accessible name of a file's progress bar. */
  progressOf(name: string): string;
  readonly totalProgress: string;
  /** Totals line: completed files of all (cancelled ones left out). */
  filesDone(done: number, total: number): string;
  /** Totals line once the files ended and some failed (the session did not complete). */
  filesFailed(count: number): string;
  /** `speed` is already formatted ("1.2 MB"). */
  perSecond(speed: string): string;
  /** Time left; at most two units. */
  eta(h: number, m: number, s: number): string;
  readonly connection: Readonly<Record<ConnectionState, string>>;
  /** Why a file was refused before anything was sent. `limit` is formatted. */
  rejected(reason: Rejection["reason"], name: string, limit: string): string;
  /**
   * The text of an error code (every code has one in errors.ts, typed); the server's
   * `message` for a code this build does not know.
   */
  error(code: string, message: string): string;
  /** Live region milestones. */
  added(count: number): string;
  refused(count: number): string;
  progress(percent: number): string;
  completed(name: string): string;
  failed(name: string, reason: string): string;
  paused(name: string): string;
  allDone(count: number): string;
  /** Form validation message when `required` and nothing is uploaded. */
  readonly required: string;
}
