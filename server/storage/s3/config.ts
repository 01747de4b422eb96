/**
 * What S3Storage needs to reach a bucket: AWS S3, MinIO, R2, Ceph, or s3rver for local use.
 * server/config.ts fills it from the H5_S3_* variables.
 */
import { CreateBucketCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";

export interface S3StorageConfig {
  /** e.g. `http://127.0.0.1:9000`; unset for AWS S3 itself. */
  endpoint?: string;
  /** Default `us-east-1`. */
  region?: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`; default: an endpoint is set. */
  forcePathStyle?: boolean;
  /** A body that delivers no byte for this long is ended as "interrupted" (as on local disk). */
  idleTimeoutMs?: number;
}

export const DEFAULT_S3_REGION = "us-east-1";

export function makeS3Client(config: S3StorageConfig): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region ?? DEFAULT_S3_REGION,
    forcePathStyle: config.forcePathStyle ?? config.endpoint !== undefined,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // The SDK's default streams bodies as aws-chunked with trailing checksums; s3rver 3.7
    // stores that framing verbatim (corrupt objects), and the parts are sized and hashed by us.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Creates the bucket when it does not exist (a start on an empty S3). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    if (httpStatus(error) !== 404) throw error;
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    // Another node created it meanwhile.
    const name = (error as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
  }
}

export function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** A missing object or upload: 404 on GET/HEAD, NoSuchKey / NoSuchUpload by name. */
export function isMissing(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return httpStatus(error) === 404 || name === "NoSuchKey" || name === "NotFound" ||
    name === "NoSuchUpload";
}
