import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startWorker, type WorkerHandle } from "../lib/worker.ts";
import { workerDir, wranglerConfig } from "./fixtures.ts";

const MIB = 1024 * 1024;

let handle: WorkerHandle;
let client: S3Client;
let dir: string;

beforeAll(async () => {
  dir = workerDir({
    "wrangler.jsonc": wranglerConfig({ r2_buckets: [{ binding: "FILES", bucket_name: "files" }] }),
    "src/index.ts": `export default {
      async fetch(request, env) {
        const object = await env.FILES.get(new URL(request.url).pathname.slice(1));
        return object === null ? new Response("missing", { status: 404 }) : new Response(object.body);
      },
    };`,
  });
  handle = await startWorker({ cwd: dir });
  client = new S3Client({
    endpoint: new URL("/__bunflare/s3", handle.url).href,
    forcePathStyle: true,
    region: "auto",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});

afterAll(async () => {
  client.destroy();
  await handle.stop();
});

test("s3 put, get and head", async () => {
  await client.send(
    new PutObjectCommand({ Bucket: "files", Key: "notes/a.txt", Body: "hello from s3", ContentType: "text/plain", Metadata: { owner: "ada" } }),
  );

  const object = await client.send(new GetObjectCommand({ Bucket: "files", Key: "notes/a.txt" }));
  expect(await object.Body!.transformToString()).toBe("hello from s3");
  expect(object.ContentType).toBe("text/plain");
  expect(object.Metadata).toEqual({ owner: "ada" });

  const head = await client.send(new HeadObjectCommand({ Bucket: "files", Key: "notes/a.txt" }));
  expect(head.ContentLength).toBe(13);
  expect(head.ETag).toBe(`"${new Bun.CryptoHasher("md5").update("hello from s3").digest("hex")}"`);

  // The Worker reads what the S3 client wrote, through its binding.
  expect(await (await handle.fetch("/notes/a.txt")).text()).toBe("hello from s3");
});

test("s3 ranged get", async () => {
  await client.send(new PutObjectCommand({ Bucket: "files", Key: "digits", Body: "0123456789" }));
  const part = await client.send(new GetObjectCommand({ Bucket: "files", Key: "digits", Range: "bytes=2-4" }));
  expect(await part.Body!.transformToString()).toBe("234");
  expect(part.ContentRange).toBe("bytes 2-4/10");
});

test("s3 missing key", async () => {
  const error = await client.send(new GetObjectCommand({ Bucket: "files", Key: "nope" })).catch((e: Error) => e);
  expect((error as Error).name).toBe("NoSuchKey");
});

test("s3 list with delimiter", async () => {
  for (const key of ["list/a/1", "list/a/2", "list/b", "list/c/3"]) {
    await client.send(new PutObjectCommand({ Bucket: "files", Key: key, Body: key }));
  }
  const page = await client.send(new ListObjectsV2Command({ Bucket: "files", Prefix: "list/", Delimiter: "/" }));
  expect(page.Contents?.map((object) => object.Key)).toEqual(["list/b"]);
  expect(page.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(["list/a/", "list/c/"]);

  const first = await client.send(new ListObjectsV2Command({ Bucket: "files", Prefix: "list/", MaxKeys: 2 }));
  expect(first.IsTruncated).toBe(true);
  const second = await client.send(
    new ListObjectsV2Command({ Bucket: "files", Prefix: "list/", MaxKeys: 2, ContinuationToken: first.NextContinuationToken }),
  );
  expect([...first.Contents!, ...second.Contents!].map((object) => object.Key)).toEqual(["list/a/1", "list/a/2", "list/b", "list/c/3"]);
});

test("s3 delete", async () => {
  await client.send(new PutObjectCommand({ Bucket: "files", Key: "gone", Body: "x" }));
  await client.send(new DeleteObjectCommand({ Bucket: "files", Key: "gone" }));
  const error = await client.send(new HeadObjectCommand({ Bucket: "files", Key: "gone" })).catch((e: Error) => e);
  expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(404);

  await client.send(new PutObjectCommand({ Bucket: "files", Key: "batch/1", Body: "x" }));
  await client.send(new PutObjectCommand({ Bucket: "files", Key: "batch/2", Body: "x" }));
  await client.send(new DeleteObjectsCommand({ Bucket: "files", Delete: { Objects: [{ Key: "batch/1" }, { Key: "batch/2" }] } }));
  const page = await client.send(new ListObjectsV2Command({ Bucket: "files", Prefix: "batch/" }));
  expect(page.KeyCount).toBe(0);
});

test("s3 multipart upload", async () => {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "files", Key: "big.bin", ContentType: "application/octet-stream" }));
  const first = new Uint8Array(5 * MIB).fill(1);
  const second = new Uint8Array(100).fill(2);
  const part1 = await client.send(new UploadPartCommand({ Bucket: "files", Key: "big.bin", UploadId, PartNumber: 1, Body: first }));
  const part2 = await client.send(new UploadPartCommand({ Bucket: "files", Key: "big.bin", UploadId, PartNumber: 2, Body: second }));
  const done = await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: "files",
      Key: "big.bin",
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part1.ETag }, { PartNumber: 2, ETag: part2.ETag }] },
    }),
  );
  expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);

  const head = await client.send(new HeadObjectCommand({ Bucket: "files", Key: "big.bin" }));
  expect(head.ContentLength).toBe(5 * MIB + 100);

  const aborted = await client.send(new CreateMultipartUploadCommand({ Bucket: "files", Key: "aborted.bin" }));
  await client.send(new UploadPartCommand({ Bucket: "files", Key: "aborted.bin", UploadId: aborted.UploadId, PartNumber: 1, Body: "x" }));
  await client.send(new AbortMultipartUploadCommand({ Bucket: "files", Key: "aborted.bin", UploadId: aborted.UploadId }));
  const blobs = readdirSync(join(dir, ".bunflare", "r2", "files", "blobs"));
  const listed = await client.send(new ListObjectsV2Command({ Bucket: "files" }));
  expect(blobs.length).toBe(listed.KeyCount!);
});

test("s3 presigned upload", async () => {
  const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: "files", Key: "presigned.txt", ContentType: "text/plain" }), {
    expiresIn: 60,
  });
  const response = await fetch(url, { method: "PUT", body: "uploaded by browser", headers: { "content-type": "text/plain" } });
  expect(response.status).toBe(200);

  const download = await getSignedUrl(client, new GetObjectCommand({ Bucket: "files", Key: "presigned.txt" }), { expiresIn: 60 });
  expect(await (await fetch(download)).text()).toBe("uploaded by browser");
});

test("s3 aws-chunked upload", async () => {
  const body = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
  const response = await fetch(new URL("/__bunflare/s3/files/chunked.txt", handle.url), {
    method: "PUT",
    body,
    headers: { "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "content-encoding": "aws-chunked" },
  });
  expect(response.status).toBe(200);
  const object = await client.send(new GetObjectCommand({ Bucket: "files", Key: "chunked.txt" }));
  expect(await object.Body!.transformToString()).toBe("hello world");
  expect(object.ContentEncoding).toBeUndefined();
});

test("s3 missing bucket is NoSuchBucket", async () => {
  const getError = await client.send(new GetObjectCommand({ Bucket: "nope", Key: "a.txt" })).catch((error: unknown) => error);
  const listError = await client.send(new ListObjectsV2Command({ Bucket: "nope" })).catch((error: unknown) => error);

  expect(getError).toMatchObject({ name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } });
  expect(listError).toMatchObject({ name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } });
});

test("s3 created bucket accepts objects", async () => {
  await client.send(new CreateBucketCommand({ Bucket: "made-here" }));
  await client.send(new PutObjectCommand({ Bucket: "made-here", Key: "a.txt", Body: "made" }));

  const object = await client.send(new GetObjectCommand({ Bucket: "made-here", Key: "a.txt" }));
  expect(await object.Body!.transformToString()).toBe("made");
});
