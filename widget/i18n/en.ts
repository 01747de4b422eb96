import { errorText, rejectedText } from "./errors.ts";
import type { Strings } from "./strings.ts";

const files = (n: number) => (n === 1 ? "1 file" : `${n} files`);

/** English. */
export const en: Strings = {
  locale: "en",
  pick: (mobile) => (mobile ? "Tap to choose or take photos" : "Choose files"),
  pickHint: (
    mobile,
  ) => (mobile ? "Keep this page open while uploading" : "or drop or paste them here"),
  limits: (maxFiles, maxSize) =>
    [maxFiles !== null && `Up to ${files(maxFiles)}`, maxSize && `${maxSize} each`]
      .filter(Boolean)
      .join(", "),
  fileList: "Files",
  start: "Start upload",
  pauseAll: "Pause all",
  resumeAll: "Resume all",
  cancelAll: "Cancel all",
  actions: {
    pause: "Pause",
    resume: "Resume",
    cancel: "Cancel",
    retry: "Retry",
    remove: "Remove",
    continue: "Continue",
  },
  fileAction: (verb, name) => `${verb} ${name}`,
  status: {
    queued: "Waiting",
    uploading: "Uploading",
    paused: "Paused",
    retrying: "Retrying",
    completed: "Uploaded",
    failed: "Failed",
    cancelled: "Cancelled",
  },
  waiting: { ready: "Interrupted", file: "Interrupted: pick the same file to continue" },
  notSameFile: (name) => `That is not ${name}: pick the same file to continue`,
  retrying: (attempt, max) => `Retry ${attempt}/${max}`,
  progressOf: (name) => `Upload progress of ${name}`,
  totalProgress: "Total progress",
  filesDone: (done, total) => `${done} of ${files(total)} uploaded`,
  filesFailed: (n) => `${files(n)} failed`,
  perSecond: (speed) => `${speed}/s`,
  eta: (h, m, s) => (h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`) + " left",
  connection: {
    idle: "",
    connecting: "Connecting…",
    connected: "Live",
    reconnecting: "Reconnecting…",
    polling: "Checking every 2 s",
    offline: "Offline",
  },
  rejected: (reason, name, limit) => rejectedText(0, reason, name, limit),
  error: (code, message) => errorText(0, code, message),
  added: (n) => `${files(n)} added`,
  refused: (n) => `${files(n)} refused`,
  progress: (p) => `Upload ${p}% complete`,
  completed: (name) => `${name} uploaded`,
  failed: (name, reason) => `${name} failed: ${reason}`,
  paused: (name) => `${name} paused`,
  allDone: (n) => `All done: ${files(n)} uploaded`,
  required: "Please upload at least one file.",
};
