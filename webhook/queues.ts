/**
 * Creates an actor's SQS queues: the dead-letter queue first, then the
 * actor queue with a redrive policy pointing at it. Behind an interface so
 * tests can swap the implementation.
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

/** Settings of the queues of one actor. */
export interface ActorQueueSpec {
  queueName: string;
  dlqName: string;
  /** Deliveries before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
}

/** SQS operations the webhook performs. */
export interface QueueApi {
  /**
   * Makes sure the actor queue and its dead-letter queue exist with the
   * given settings, and returns the actor queue URL. Idempotent.
   */
  ensureActorQueues(spec: ActorQueueSpec): Promise<string>;
  /** Makes sure a plain queue exists (the end actors' queues); returns its URL. */
  ensureQueue(queueName: string): Promise<string>;
  /** Returns the URL of an existing queue. */
  getQueueUrl(queueName: string): Promise<string>;
}

/** Dead letters are kept for 14 days, the SQS maximum retention. */
const DLQ_RETENTION_SECONDS = 1_209_600;

/** `QueueApi` over the AWS SDK. */
export class SqsQueueApi implements QueueApi {
  constructor(private readonly client: SQSClient) {}

  /** Builds the SDK client; credentials come from the SDK's default chain. */
  static create(options: { region: string; endpoint?: string }): SqsQueueApi {
    return new SqsQueueApi(new SQSClient({ region: options.region, endpoint: options.endpoint || undefined }));
  }

  async ensureActorQueues(spec: ActorQueueSpec): Promise<string> {
    // CreateQueue without attributes succeeds for an existing queue, and
    // SetQueueAttributes then updates settings that changed since.
    const dlqUrl = await this.ensureQueue(spec.dlqName);
    await this.client.send(new SetQueueAttributesCommand({
      QueueUrl: dlqUrl,
      Attributes: { MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS) },
    }));
    const dlqAttributes = await this.client.send(new GetQueueAttributesCommand({
      QueueUrl: dlqUrl,
      AttributeNames: ["QueueArn"],
    }));
    const dlqArn = dlqAttributes.Attributes?.QueueArn;
    if (dlqArn === undefined) throw new Error(`SQS returned no QueueArn for ${spec.dlqName}`);

    const queueUrl = await this.ensureQueue(spec.queueName);
    await this.client.send(new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: spec.maxReceiveCount }),
      },
    }));
    return queueUrl;
  }

  async ensureQueue(queueName: string): Promise<string> {
    const created = await this.client.send(new CreateQueueCommand({ QueueName: queueName }));
    if (created.QueueUrl === undefined) throw new Error(`SQS returned no QueueUrl for ${queueName}`);
    return created.QueueUrl;
  }

  async getQueueUrl(queueName: string): Promise<string> {
    const found = await this.client.send(new GetQueueUrlCommand({ QueueName: queueName }));
    if (found.QueueUrl === undefined) throw new Error(`SQS returned no QueueUrl for ${queueName}`);
    return found.QueueUrl;
  }
}
