/** Reads objects back from a test s3rver, by sha256: proof of what the bucket really holds. */
import { createHash } from "node:crypto";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3RVER_CREDENTIALS } from "../../tools/services/s3rver.ts";

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
}

/** The sha256 (hex) of the object at `key`, hashed as it streams; null when there is none. */
export async function objectSha256(
  endpoint: string,
  bucket: string,
  key: string,
): Promise<string | null> {
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    // s3rver 3.7 does not decode aws-chunked payloads (see server/storage/s3/config.ts).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  try {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const hash = createHash("sha256");
    for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    return hash.digest("hex");
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  } finally {
    client.destroy();
  }
}
