/**
 * Baseline of the cold-start benchmark: the least a Deno process must do to
 * reach its queue. It sends one ReceiveMessage with a bare fetch (AWS JSON
 * 1.0 protocol, no SDK), then keeps long-polling so its idle memory can be
 * read, and exits on its own after 60 s. With `--with-sdk` it
 * first loads and builds the SQS and S3 clients of the AWS SDK, as the
 * sidecar does, without calling them, so that cost shows separately.
 *
 *   deno run --allow-net --allow-read --allow-env --allow-sys bench/lib/first-receive.ts SQS_ENDPOINT QUEUE_URL [--with-sdk]
 */
const [endpoint, queueUrl, flag] = Deno.args;
if (
  endpoint === undefined || queueUrl === undefined ||
  (flag !== undefined && flag !== "--with-sdk")
) {
  console.error(
    `usage: first-receive.ts SQS_ENDPOINT QUEUE_URL [--with-sdk] (found ${
      JSON.stringify(Deno.args)
    })`,
  );
  Deno.exit(2);
}
if (flag === "--with-sdk") {
  const [{ SQSClient }, { S3Client }] = await Promise.all([
    import("@aws-sdk/client-sqs"),
    import("@aws-sdk/client-s3"),
  ]);
  new SQSClient({ region: "us-east-1", endpoint });
  new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true });
}
setTimeout(() => Deno.exit(0), 60_000);
for (let poll = 0; poll < 10; poll++) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": "AmazonSQS.ReceiveMessage",
    },
    body: JSON.stringify({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 5,
    }),
  });
  await response.body?.cancel();
}
