import { AppError } from "../../errors.ts";

/**
 * tus checksum-trailer is not offered: `Deno.serve` drops request trailers (denoland/deno#23632,
 * proven in tests/tus_interop_test.ts), so a checksum sent as one could never be compared. A
 * request announcing it (`Trailer: Upload-Checksum`) is refused before its body is read rather
 * than stored as if verified.
 */
export function refuseChecksumTrailer(trailer: string | undefined): void {
  if (!trailer?.split(",").some((name) => name.trim().toLowerCase() === "upload-checksum")) return;
  throw new AppError(
    "CHECKSUM_UNSUPPORTED",
    "Upload-Checksum as a trailer cannot be verified here (no checksum-trailer); send it as a header",
  );
}
