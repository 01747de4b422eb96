/** Stroke icons (24×24, `currentColor`), decorative: buttons carry their own names. */
import { html, type TemplateResult } from "lit";

const icon = (d: string): TemplateResult =>
  html`
    <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d=${d}></path>
    </svg>
  `;

export const icons = {
  upload: icon("M12 15V3m-5 5 5-5 5 5M4 15v4a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-4"),
  pause: icon("M9 5v14m6-14v14"),
  resume: icon("M7 4l13 8-13 8z"),
  cancel: icon("M6 6l12 12M18 6 6 18"),
  retry: icon("M4 12a8 8 0 1 0 2.4-5.7M4 3v5h5"),
  remove: icon("M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"),
  file: icon("M6 2h8l5 5v15H6zm8 0v5h5"),
};
