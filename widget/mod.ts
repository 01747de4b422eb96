/**
 * The widget's entry point (bundled into `dist/h5-uploader.js`): defines `<h5-uploader>`
 * once, even when the script is included twice.
 *
 * ```html
 * <script type="module" src="https://uploads.example/h5-uploader.js"></script>
 * <h5-uploader multiple></h5-uploader>
 * ```
 */
import { H5Uploader } from "./h5_uploader.ts";

export { H5Uploader };
export * from "./events.ts";
export type {
  ConnectionState,
  EngineSnapshot,
  FileError,
  FileSnapshot,
  FileStatus,
  Rejection,
} from "./engine/types.ts";

if (!customElements.get("h5-uploader")) customElements.define("h5-uploader", H5Uploader);
