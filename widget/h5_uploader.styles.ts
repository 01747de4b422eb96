import { css } from "lit";

/**
 * Phones first: one column, 44 px targets, nothing wider than 320 px. The public
 * `--h5-uploader-*` properties feed private `--_*` ones, so a page's override wins in
 * both light and dark schemes.
 */
export const styles = css`
  :host {
    --_accent: var(--h5-uploader-accent, #2563eb);
    --_on-accent: var(--h5-uploader-accent-text, #fff);
    --_bg: var(--h5-uploader-background, #fff);
    --_surface: var(--h5-uploader-surface, #f3f4f6);
    --_text: var(--h5-uploader-text, #111827);
    --_muted: var(--h5-uploader-muted, #4b5563);
    --_border: var(--h5-uploader-border, #d1d5db);
    --_danger: var(--h5-uploader-danger, #b91c1c);
    --_success: var(--h5-uploader-success, #15803d);
    --_radius: var(--h5-uploader-radius, 12px);
    --_focus: var(--h5-uploader-focus-ring, 2px solid var(--_accent));
    display: block;
    container-type: inline-size;
    min-width: 0;
    color: var(--_text);
    font: 15px/1.4 var(--h5-uploader-font, system-ui, sans-serif);
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_accent: var(--h5-uploader-accent, #60a5fa);
      --_on-accent: var(--h5-uploader-accent-text, #111827);
      --_bg: var(--h5-uploader-background, #111827);
      --_surface: var(--h5-uploader-surface, #1f2937);
      --_text: var(--h5-uploader-text, #f9fafb);
      --_muted: var(--h5-uploader-muted, #9ca3af);
      --_border: var(--h5-uploader-border, #374151);
      --_danger: var(--h5-uploader-danger, #f87171);
      --_success: var(--h5-uploader-success, #4ade80);
    }
  }
  :host([hidden]) {
    display: none;
  }
  * {
    box-sizing: border-box;
  }
  .base {
    display: grid;
    gap: 12px;
    padding: 12px;
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
  }
  .sr {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  .drop {
    position: relative;
    display: flex;
    gap: 12px;
    align-items: center;
    min-height: 88px;
    padding: 16px;
    border: 2px dashed var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface);
    cursor: pointer;
  }
  .drop:hover,
  .drop[data-dragging] {
    border-color: var(--_accent);
  }
  .drop:has(:focus-visible) {
    outline: var(--_focus);
    outline-offset: 2px;
  }
  .drop svg {
    flex: none;
    width: 32px;
    height: 32px;
    color: var(--_accent);
  }
  .drop-text {
    display: grid;
    min-width: 0;
    color: var(--_muted);
  }
  .drop-text strong {
    color: var(--_text);
    font-size: 1.05em;
  }
  svg {
    display: block;
    width: 20px;
    height: 20px;
    fill: none;
    stroke: currentColor;
    stroke-width: 2;
    stroke-linecap: round;
    stroke-linejoin: round;
  }
  ul {
    display: grid;
    gap: 8px;
    margin: 0;
    padding: 0;
    list-style: none;
  }
  .messages {
    color: var(--_danger);
    overflow-wrap: anywhere;
  }
  .summary {
    display: grid;
    gap: 6px;
  }
  .row,
  .meta {
    display: flex;
    flex-wrap: wrap;
    gap: 4px 12px;
    align-items: center;
    min-width: 0;
  }
  .grow {
    flex: 1;
  }
  .muted,
  .meta {
    color: var(--_muted);
    font-size: 0.875em;
  }
  .conn::before {
    content: "";
    display: inline-block;
    width: 8px;
    height: 8px;
    margin-inline-end: 6px;
    border-radius: 50%;
    background: var(--_muted);
  }
  .conn[data-state="connected"]::before {
    background: var(--_success);
  }
  .conn[data-state="reconnecting"]::before,
  .conn[data-state="polling"]::before {
    background: #d97706;
  }
  .bar {
    height: 6px;
    overflow: hidden;
    border-radius: 3px;
    background: var(--_surface);
    box-shadow: inset 0 0 0 1px var(--_border);
  }
  .fill {
    height: 100%;
    background: var(--_accent);
  }
  [data-status="completed"] .fill {
    background: var(--_success);
  }
  [data-status="failed"] .fill {
    background: var(--_danger);
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
  }
  button {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    min-width: 44px;
    min-height: 44px;
    padding: 0 16px;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) / 1.5);
    background: var(--_bg);
    color: var(--_text);
    font: inherit;
    cursor: pointer;
    touch-action: manipulation;
  }
  .toolbar button {
    flex: 1 1 auto;
  }
  button:hover {
    border-color: var(--_accent);
  }
  button:focus-visible {
    outline: var(--_focus);
    outline-offset: 2px;
  }
  .primary {
    border-color: var(--_accent);
    background: var(--_accent);
    color: var(--_on-accent);
    font-weight: 600;
  }
  .icon {
    padding: 0;
    width: 44px;
  }
  .file {
    display: grid;
    grid-template-columns: 48px minmax(0, 1fr);
    gap: 8px 12px;
    align-items: center;
    padding: 8px;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
  }
  .thumb {
    display: grid;
    place-items: center;
    width: 48px;
    height: 48px;
    border-radius: calc(var(--_radius) / 2);
    background: var(--_surface);
    color: var(--_muted);
    object-fit: cover;
  }
  .info {
    display: grid;
    gap: 4px;
    min-width: 0;
  }
  .name {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
    font-weight: 500;
  }
  [data-status="completed"] .state {
    color: var(--_success);
  }
  .error,
  [data-status="failed"] .state {
    color: var(--_danger);
    font-size: 0.875em;
  }
  .actions {
    display: flex;
    grid-column: 1 / -1;
    justify-content: flex-end;
    gap: 4px;
  }
  @container (min-width: 480px) {
    .base {
      padding: 16px;
    }
    .file {
      grid-template-columns: 48px minmax(0, 1fr) auto;
    }
    .actions {
      grid-column: auto;
    }
    .toolbar button {
      flex: 0 0 auto;
    }
  }
  @media (forced-colors: active) {
    .drop,
    .bar,
    .file,
    button {
      border: 1px solid CanvasText;
    }
    .fill,
    .conn::before {
      forced-color-adjust: none;
      background: Highlight;
    }
    svg {
      stroke: ButtonText;
    }
    .drop:has(:focus-visible),
    button:focus-visible {
      outline-color: Highlight;
    }
  }
`;
