import { errorText, rejectedText } from "./errors.ts";
import type { Strings } from "./strings.ts";

/** 简体中文. */
export const zhCN: Strings = {
  locale: "zh-CN",
  pick: (mobile) => (mobile ? "点击选择或拍摄" : "选择文件"),
  pickHint: (mobile) => (mobile ? "上传时请勿关闭此页面" : "或拖放、粘贴到这里"),
  limits: (maxFiles, maxSize) =>
    [maxFiles !== null && `最多 ${maxFiles} 个文件`, maxSize && `每个不超过 ${maxSize}`]
      .filter(Boolean)
      .join("，"),
  fileList: "文件列表",
  start: "开始上传",
  pauseAll: "全部暂停",
  resumeAll: "全部继续",
  cancelAll: "全部取消",
  actions: {
    pause: "暂停",
    resume: "继续",
    cancel: "取消",
    retry: "重试",
    remove: "移除",
    continue: "继续上传",
  },
  fileAction: (verb, name) => `${verb} ${name}`,
  status: {
    queued: "等待中",
    uploading: "上传中",
    paused: "已暂停",
    retrying: "重试中",
    completed: "已上传",
    failed: "失败",
    cancelled: "已取消",
  },
  waiting: { ready: "已中断", file: "已中断：请选择同一个文件以继续" },
  notSameFile: (name) => `这不是 ${name}：请选择同一个文件以继续`,
  retrying: (attempt, max) => `重试 ${attempt}/${max}`,
  progressOf: (name) => `${name} 的上传进度`,
  totalProgress: "总进度",
  filesDone: (done, total) => `已上传 ${done}/${total} 个文件`,
  filesFailed: (n) => `${n} 个文件上传失败`,
  perSecond: (speed) => `${speed}/秒`,
  eta: (h, m, s) => "剩余 " + (h ? `${h} 小时 ${m} 分` : m ? `${m} 分 ${s} 秒` : `${s} 秒`),
  connection: {
    idle: "",
    connecting: "连接中…",
    connected: "实时连接",
    reconnecting: "重新连接中…",
    polling: "定时刷新中",
    offline: "网络已断开",
  },
  rejected: (reason, name, limit) => rejectedText(1, reason, name, limit),
  error: (code, message) => errorText(1, code, message),
  added: (n) => `已添加 ${n} 个文件`,
  refused: (n) => `${n} 个文件未添加`,
  progress: (p) => `已上传 ${p}%`,
  completed: (name) => `${name} 上传完成`,
  failed: (name, reason) => `${name} 上传失败：${reason}`,
  paused: (name) => `${name} 已暂停`,
  allDone: (n) => `全部完成：已上传 ${n} 个文件`,
  required: "请至少上传一个文件。",
};
