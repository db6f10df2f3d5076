/**
 * The demo's own SQS and S3 calls, as a producer and observer of the mesh:
 * create the queues with their DLQs, store claim checks, send envelopes,
 * and read what x-sink and x-sump stored. The sidecars make their own calls.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type QueueAttributeName,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { actorQueueName, dlqQueueName } from "../../shared/queues.ts";

/** Credentials the local stack accepts; it checks none. */
export const LOCAL_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
export const LOCAL_REGION = "us-east-1";

export interface Clients {
  sqs: SQSClient;
  s3: S3Client;
}

export interface ActorQueues {
  queueUrl: string;
  dlqUrl: string;
}

export function createClients(sqsEndpoint: string, s3Endpoint: string): Clients {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 };
  return {
    sqs: new SQSClient({ ...common, endpoint: sqsEndpoint }),
    s3: new S3Client({ ...common, endpoint: s3Endpoint, forcePathStyle: true }),
  };
}

/**
 * Creates the queue and dead-letter queue of each actor; a message received
 * `maxReceiveCount` times without being deleted moves to the DLQ.
 * Throws naming the queue when SQS rejects a call or a name is invalid.
 */
export async function createActorQueues(
  sqs: SQSClient,
  namespace: string,
  actors: string[],
  options: { maxReceiveCount: number; visibilityTimeoutSeconds: number },
): Promise<Map<string, ActorQueues>> {
  const queues = new Map<string, ActorQueues>();
  for (const actor of actors) {
    const queueName = actorQueueName(namespace, actor);
    const dlqName = dlqQueueName(namespace, actor);
    if (!queueName.ok) throw new Error(queueName.error.message);
    if (!dlqName.ok) throw new Error(dlqName.error.message);

    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: dlqName.value }));
    const dlqAttributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    const dlqArn = dlqAttributes.Attributes?.QueueArn;
    if (dlq.QueueUrl === undefined || dlqArn === undefined) {
      throw new Error(`Creating queue ${dlqName.value} failed: SQS returned no queue URL or ARN`);
    }
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: queueName.value,
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
        },
      }),
    );
    if (queue.QueueUrl === undefined) {
      throw new Error(`Creating queue ${queueName.value} failed: SQS returned no queue URL`);
    }
    queues.set(actor, { queueUrl: queue.QueueUrl, dlqUrl: dlq.QueueUrl });
  }
  return queues;
}

/** Messages in a queue: visible plus in flight. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const names: QueueAttributeName[] = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"];
  const result = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }));
  return names.reduce((total, name) => total + Number(result.Attributes?.[name] ?? 0), 0);
}

export async function sendEnvelope(sqs: SQSClient, queueUrl: string, body: string): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function putObject(s3: S3Client, bucket: string, key: string, body: Uint8Array): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/json" }));
}

/** Lists every key under a prefix, following continuation tokens. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const item of page.Contents ?? []) if (item.Key !== undefined) keys.push(item.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

export async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const result = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (result.Body === undefined) throw new Error(`Reading s3://${bucket}/${key} failed: the response has no body`);
  return await result.Body.transformToString("utf-8");
}
