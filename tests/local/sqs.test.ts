// Conformance of the local SQS endpoint, driven only through
// @aws-sdk/client-sqs. Expected values come from the Amazon SQS API
// reference and developer guide, not from the implementation.

import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AddPermissionCommand,
  BatchEntryIdsNotDistinct,
  BatchRequestTooLong,
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  EmptyBatchRequest,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  InvalidAttributeName,
  InvalidBatchEntryId,
  InvalidMessageContents,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  PurgeQueueInProgress,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
  TagQueueCommand,
  TooManyEntriesInBatchRequest,
  UnsupportedOperation,
  UntagQueueCommand,
} from "@aws-sdk/client-sqs";
import { type LocalStack } from "../../local/mod.ts";
import {
  makeTempDir,
  rejection,
  removeDir,
  sleep,
  sqsClient,
  startLocalStack,
} from "./helpers.ts";

let dataDir: string;
let stack: LocalStack;
let sqs: SQSClient;
let queueCounter = 0;

beforeAll(async () => {
  dataDir = await makeTempDir();
  stack = await startLocalStack({ dataDir });
  sqs = sqsClient(stack);
});

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
  await removeDir(dataDir);
});

async function newQueue(attributes?: Record<string, string>): Promise<string> {
  const name = `queue-${++queueCounter}`;
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  return QueueUrl!;
}

async function attributes(
  queueUrl: string,
  names: string[] = ["All"],
): Promise<Record<string, string>> {
  const output = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: names as never,
    }),
  );
  return output.Attributes ?? {};
}

const md5 = (text: string) =>
  createHash("md5").update(text, "utf8").digest("hex");

describe("queues", () => {
  test("CreateQueue returns the local queue URL", async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: "orders" }),
    );
    expect(QueueUrl).toBe(`${stack.sqsEndpoint}/000000000000/orders`);
  });

  test("CreateQueue is idempotent with equal attributes", async () => {
    const first = await sqs.send(
      new CreateQueueCommand({
        QueueName: "same",
        Attributes: { VisibilityTimeout: "45" },
      }),
    );
    const second = await sqs.send(
      new CreateQueueCommand({
        QueueName: "same",
        Attributes: { VisibilityTimeout: "45" },
      }),
    );
    expect(second.QueueUrl).toBe(first.QueueUrl);
  });

  test("CreateQueue rejects different attributes for an existing name", async () => {
    await sqs.send(
      new CreateQueueCommand({
        QueueName: "conflict",
        Attributes: { VisibilityTimeout: "45" },
      }),
    );
    const error = await rejection(
      sqs.send(
        new CreateQueueCommand({
          QueueName: "conflict",
          Attributes: { VisibilityTimeout: "46" },
        }),
      ),
    );
    expect(error).toBeInstanceOf(QueueNameExists);
  });

  test("CreateQueue validates queue names", async () => {
    // Queue names: 1 to 80 characters of alphanumerics, hyphens and underscores.
    await sqs.send(new CreateQueueCommand({ QueueName: "a".repeat(80) }));
    for (const bad of ["a".repeat(81), "has space", "dot.name"]) {
      const error = await rejection(
        sqs.send(new CreateQueueCommand({ QueueName: bad })),
      );
      expect(error.name).toBe("InvalidParameterValue");
      expect(error.$metadata?.httpStatusCode).toBe(400);
    }
  });

  test("CreateQueue rejects invalid attribute values and names", async () => {
    const tooLong = await rejection(
      sqs.send(
        new CreateQueueCommand({
          QueueName: "bad-vt",
          Attributes: { VisibilityTimeout: "43201" },
        }),
      ),
    );
    expect(tooLong.name).toBe("InvalidAttributeValue");
    const unknown = await rejection(
      sqs.send(
        new CreateQueueCommand({
          QueueName: "bad-name",
          Attributes: { NoSuchAttribute: "1" } as never,
        }),
      ),
    );
    expect(unknown).toBeInstanceOf(InvalidAttributeName);
  });

  test("missing required parameters fail with MissingParameter", async () => {
    const error = await rejection(
      sqs.send(new GetQueueUrlCommand({ QueueName: "" })),
    );
    expect(error.name).toBe("MissingParameter");
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  test("GetQueueUrl finds a queue and reports a missing one", async () => {
    const queueUrl = await newQueue();
    const name = queueUrl.slice(queueUrl.lastIndexOf("/") + 1);
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    expect(found.QueueUrl).toBe(queueUrl);

    const error = await rejection(
      sqs.send(new GetQueueUrlCommand({ QueueName: "missing-queue" })),
    );
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  test("ListQueues filters by prefix and pages", async () => {
    for (const name of ["list-a", "list-b", "list-c", "other-list"]) {
      await sqs.send(new CreateQueueCommand({ QueueName: name }));
    }
    const all = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: "list-" }),
    );
    expect(all.QueueUrls).toEqual(
      ["list-a", "list-b", "list-c"].map((name) =>
        `${stack.sqsEndpoint}/000000000000/${name}`
      ),
    );

    const first = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: "list-", MaxResults: 2 }),
    );
    expect(first.QueueUrls).toHaveLength(2);
    expect(first.NextToken).toBeDefined();
    const second = await sqs.send(
      new ListQueuesCommand({
        QueueNamePrefix: "list-",
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    expect(second.QueueUrls).toEqual([
      `${stack.sqsEndpoint}/000000000000/list-c`,
    ]);
    expect(second.NextToken).toBeUndefined();

    const none = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: "zzz" }),
    );
    expect(none.QueueUrls ?? []).toEqual([]);
  });

  test("DeleteQueue removes the queue", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x" }),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    const error = await rejection(
      sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x" }),
      ),
    );
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    const again = await rejection(
      sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })),
    );
    expect(again).toBeInstanceOf(QueueDoesNotExist);
  });

  test("GetQueueAttributes returns the documented defaults", async () => {
    const queueUrl = await newQueue();
    const name = queueUrl.slice(queueUrl.lastIndexOf("/") + 1);
    const all = await attributes(queueUrl);
    // Defaults from the CreateQueue API reference.
    expect(all.VisibilityTimeout).toBe("30");
    expect(all.MessageRetentionPeriod).toBe("345600");
    expect(all.DelaySeconds).toBe("0");
    expect(all.ReceiveMessageWaitTimeSeconds).toBe("0");
    expect(all.MaximumMessageSize).toBe("1048576");
    expect(all.QueueArn).toBe(`arn:aws:sqs:us-east-1:000000000000:${name}`);
    expect(all.ApproximateNumberOfMessages).toBe("0");
    expect(all.ApproximateNumberOfMessagesNotVisible).toBe("0");
    expect(all.ApproximateNumberOfMessagesDelayed).toBe("0");
    expect(Number(all.CreatedTimestamp)).toBeGreaterThan(1_600_000_000);
    expect(all.RedrivePolicy).toBeUndefined();
  });

  test("GetQueueAttributes returns only the requested names", async () => {
    const queueUrl = await newQueue();
    expect(await attributes(queueUrl, ["VisibilityTimeout"])).toEqual({
      VisibilityTimeout: "30",
    });
    const error = await rejection(attributes(queueUrl, ["NoSuchAttribute"]));
    expect(error).toBeInstanceOf(InvalidAttributeName);
  });

  test("SetQueueAttributes changes and validates attributes", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { VisibilityTimeout: "5", DelaySeconds: "2" },
      }),
    );
    const after = await attributes(queueUrl, [
      "VisibilityTimeout",
      "DelaySeconds",
    ]);
    expect(after).toEqual({ VisibilityTimeout: "5", DelaySeconds: "2" });

    const error = await rejection(
      sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: { DelaySeconds: "901" },
        }),
      ),
    );
    expect(error.name).toBe("InvalidAttributeValue");
    const readOnly = await rejection(
      sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: {
            QueueArn: "arn:aws:sqs:us-east-1:000000000000:x",
          } as never,
        }),
      ),
    );
    expect(readOnly).toBeInstanceOf(InvalidAttributeName);
  });

  test("tags are created, listed, added and removed", async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: "tagged", tags: { team: "ml" } }),
    );
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl }))).Tags)
      .toEqual({ team: "ml" });
    await sqs.send(new TagQueueCommand({ QueueUrl, Tags: { env: "dev" } }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl }))).Tags)
      .toEqual({ team: "ml", env: "dev" });
    await sqs.send(new UntagQueueCommand({ QueueUrl, TagKeys: ["team"] }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl }))).Tags)
      .toEqual({ env: "dev" });
  });

  test("PurgeQueue deletes messages and allows one purge per 60 seconds", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "one" }),
    );
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "two" }),
    );
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    expect(
      (await attributes(queueUrl, ["ApproximateNumberOfMessages"]))
        .ApproximateNumberOfMessages,
    ).toBe("0");
    const error = await rejection(
      sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl })),
    );
    expect(error).toBeInstanceOf(PurgeQueueInProgress);
  });

  test("unsupported operations fail with UnsupportedOperation", async () => {
    const queueUrl = await newQueue();
    const error = await rejection(
      sqs.send(
        new AddPermissionCommand({
          QueueUrl: queueUrl,
          Label: "l",
          AWSAccountIds: ["111111111111"],
          Actions: ["SendMessage"],
        }),
      ),
    );
    expect(error).toBeInstanceOf(UnsupportedOperation);
  });
});

describe("messages", () => {
  test("SendMessage returns the MD5 digests of body and attributes", async () => {
    const queueUrl = await newQueue();
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: "foobar2",
        MessageAttributes: {
          AtTimestamp: {
            DataType: "String",
            StringValue: "2021-02-15T12:00:33+09:00",
          },
        },
      }),
    );
    // MD5OfMessageBody is the MD5 of the body's UTF-8 bytes.
    expect(sent.MD5OfMessageBody).toBe(md5("foobar2"));
    // The digest Amazon SQS returned for exactly this attribute set.
    expect(sent.MD5OfMessageAttributes).toBe(
      "9fd5e217089075be61cd1d67e35e5117",
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("ReceiveMessage returns body, attributes and system attributes", async () => {
    const queueUrl = await newQueue();
    const before = Date.now();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: "héllo wörld 😀\t\n",
        MessageAttributes: {
          "app.kind": { DataType: "String", StringValue: "test" },
          "app.size": { DataType: "Number", StringValue: "42" },
          blob: {
            DataType: "Binary",
            BinaryValue: new Uint8Array([0, 1, 2, 255]),
          },
        },
        MessageSystemAttributes: {
          AWSTraceHeader: {
            DataType: "String",
            StringValue: "Root=1-5759e988-bd862e3fe1be46a994272793",
          },
        },
      }),
    );
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    expect(Messages).toHaveLength(1);
    const [message] = Messages!;
    expect(message.Body).toBe("héllo wörld 😀\t\n");
    expect(message.MD5OfBody).toBe(md5("héllo wörld 😀\t\n"));
    expect(message.MessageAttributes?.["app.kind"]).toEqual({
      DataType: "String",
      StringValue: "test",
    });
    expect(message.MessageAttributes?.["app.size"]).toEqual({
      DataType: "Number",
      StringValue: "42",
    });
    expect(Array.from(message.MessageAttributes?.blob.BinaryValue ?? []))
      .toEqual([0, 1, 2, 255]);
    expect(message.Attributes?.ApproximateReceiveCount).toBe("1");
    expect(Number(message.Attributes?.SentTimestamp)).toBeGreaterThanOrEqual(
      before - 1000,
    );
    expect(message.Attributes?.AWSTraceHeader).toBe(
      "Root=1-5759e988-bd862e3fe1be46a994272793",
    );
    expect(message.Attributes?.SenderId).toBe("test");
  });

  test("ReceiveMessage filters message attributes by name and prefix", async () => {
    const queueUrl = await newQueue();
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: "x",
        MessageAttributes: {
          "app.kind": { DataType: "String", StringValue: "a" },
          other: { DataType: "String", StringValue: "b" },
        },
      }),
    );
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageAttributeNames: ["app.*"],
      }),
    );
    expect(Object.keys(Messages![0].MessageAttributes ?? {})).toEqual([
      "app.kind",
    ]);
    // The digest still covers every attribute the message was sent with.
    expect(Messages![0].MD5OfMessageAttributes).toBe(
      sent.MD5OfMessageAttributes,
    );
  });

  test("ReceiveMessage returns at most MaxNumberOfMessages", async () => {
    const queueUrl = await newQueue();
    for (let i = 0; i < 12; i++) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `m${i}` }),
      );
    }
    const one = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl }),
    );
    expect(one.Messages).toHaveLength(1);
    const ten = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
      }),
    );
    expect(ten.Messages).toHaveLength(10);
    const error = await rejection(
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 11,
        }),
      ),
    );
    expect(error.name).toBe("InvalidParameterValue");
  });

  test("received messages are hidden until the visibility timeout expires", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: "redeliver me",
      }),
    );
    const first = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        VisibilityTimeout: 1,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    expect(first.Messages).toHaveLength(1);
    const hidden = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl }),
    );
    expect(hidden.Messages ?? []).toHaveLength(0);
    const counts = await attributes(queueUrl, [
      "ApproximateNumberOfMessages",
      "ApproximateNumberOfMessagesNotVisible",
    ]);
    expect(counts).toEqual({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "1",
    });

    await sleep(1200);
    const second = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    expect(second.Messages).toHaveLength(1);
    expect(second.Messages![0].MessageId).toBe(first.Messages![0].MessageId);
    expect(second.Messages![0].Attributes?.ApproximateReceiveCount).toBe("2");
    expect(second.Messages![0].ReceiptHandle).not.toBe(
      first.Messages![0].ReceiptHandle,
    );
    expect(second.Messages![0].Attributes?.ApproximateFirstReceiveTimestamp)
      .toBe(first.Messages![0].Attributes?.ApproximateFirstReceiveTimestamp);
  });

  test("DeleteMessage needs the latest receipt handle", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x" }),
    );
    const first = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }),
    );
    const second = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 30 }),
    );
    // The developer guide: with an older handle the request succeeds but
    // the message is not deleted.
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: first.Messages![0].ReceiptHandle,
      }),
    );
    expect(
      (await attributes(queueUrl, ["ApproximateNumberOfMessagesNotVisible"]))
        .ApproximateNumberOfMessagesNotVisible,
    ).toBe("1");
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: second.Messages![0].ReceiptHandle,
      }),
    );
    expect(
      (await attributes(queueUrl, ["ApproximateNumberOfMessagesNotVisible"]))
        .ApproximateNumberOfMessagesNotVisible,
    ).toBe("0");
    // Deleting an already deleted message succeeds.
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: second.Messages![0].ReceiptHandle,
      }),
    );
  });

  test("DeleteMessage rejects a malformed receipt handle", async () => {
    const queueUrl = await newQueue();
    const error = await rejection(
      sqs.send(
        new DeleteMessageCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: "not-a-handle",
        }),
      ),
    );
    expect(error).toBeInstanceOf(ReceiptHandleIsInvalid);
    expect(error.$metadata?.httpStatusCode).toBe(404);
  });

  test("ChangeMessageVisibility makes a message visible again", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x" }),
    );
    const first = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 600 }),
    );
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: first.Messages![0].ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const second = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl }),
    );
    expect(second.Messages?.[0].MessageId).toBe(first.Messages![0].MessageId);

    const tooLong = await rejection(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: second.Messages![0].ReceiptHandle,
          VisibilityTimeout: 43201,
        }),
      ),
    );
    expect(tooLong.name).toBe("InvalidParameterValue");
    const invalid = await rejection(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: "bogus",
          VisibilityTimeout: 5,
        }),
      ),
    );
    expect(invalid).toBeInstanceOf(ReceiptHandleIsInvalid);
  });

  test("ChangeMessageVisibility rejects an outdated handle", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x" }),
    );
    const first = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }),
    );
    await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 30 }),
    );
    const error = await rejection(sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: first.Messages![0].ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    ));
    expect(error.name).toBe("InvalidParameterValue");
    expect(
      (await attributes(queueUrl, ["ApproximateNumberOfMessagesNotVisible"]))
        .ApproximateNumberOfMessagesNotVisible,
    ).toBe("1");
  });

  test("DelaySeconds hides a message and counts it as delayed", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: "later",
        DelaySeconds: 1,
      }),
    );
    expect(
      (await attributes(queueUrl, ["ApproximateNumberOfMessagesDelayed"]))
        .ApproximateNumberOfMessagesDelayed,
    ).toBe("1");
    expect(
      (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl })))
        .Messages ?? [],
    ).toHaveLength(0);
    const later = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 5 }),
    );
    expect(later.Messages?.[0].Body).toBe("later");
  });

  test("SendMessage rejects characters outside the allowed set", async () => {
    const queueUrl = await newQueue();
    // Allowed: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
    for (
      const body of [
        "nul \u0000",
        "bell \u0007",
        "lone \ud800 surrogate",
        "\uffff",
      ]
    ) {
      const error = await rejection(
        sqs.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }),
        ),
      );
      expect(error).toBeInstanceOf(InvalidMessageContents);
    }
    const attributeError = await rejection(sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: "ok",
        MessageAttributes: {
          bad: { DataType: "String", StringValue: "\u0001" },
        },
      }),
    ));
    expect(attributeError).toBeInstanceOf(InvalidMessageContents);
  });

  test("SendMessage rejects an empty body", async () => {
    const queueUrl = await newQueue();
    const error = await rejection(
      sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "" })),
    );
    expect(error.name).toBe("MissingParameter");
  });

  test("SendMessage rejects bad message attributes", async () => {
    const queueUrl = await newQueue();
    const cases: Record<string, { DataType: string; StringValue?: string }>[] =
      [
        { "AWS.reserved": { DataType: "String", StringValue: "x" } },
        { ok: { DataType: "Number", StringValue: "not a number" } },
        { ok: { DataType: "Text", StringValue: "x" } },
        { ok: { DataType: "String" } },
        Object.fromEntries(
          Array.from(
            { length: 11 },
            (_, i) => [`a${i}`, { DataType: "String", StringValue: "x" }],
          ),
        ),
      ];
    for (const MessageAttributes of cases) {
      const error = await rejection(
        sqs.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: "x",
            MessageAttributes,
          }),
        ),
      );
      expect(error.name).toBe("InvalidParameterValue");
    }
  });
});

describe("message size limit", () => {
  // The limit counts UTF-8 bytes of the body plus every attribute's name,
  // type and value; the default and maximum is 1,048,576 bytes (1 MiB).
  test("default limit is 1 MiB counted in UTF-8 bytes", async () => {
    const queueUrl = await newQueue();
    const exact = "é".repeat(524288); // 2 bytes each: exactly 1,048,576 bytes
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: exact }),
    );
    const error = await rejection(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: `${exact}a`,
        }),
      ),
    );
    expect(error.name).toBe("InvalidParameterValue");
    expect(error.message).toBe(
      "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.",
    );
  });

  test("MaximumMessageSize of 256 KiB counts attributes too", async () => {
    const queueUrl = await newQueue({ MaximumMessageSize: "262144" });
    const body = "€".repeat(87381); // 3 bytes each: 262,143 bytes
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `${body}a` }),
    );
    // Name "k" (1) + type "String" (6) + value "v" (1) = 8 more bytes.
    const error = await rejection(sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageAttributes: { k: { DataType: "String", StringValue: "v" } },
      }),
    ));
    expect(error.name).toBe("InvalidParameterValue");
    expect(error.message).toBe(
      "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.",
    );
    const shorter = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: "€".repeat(87378), // 262,134 bytes + 8 attribute bytes = 262,142
        MessageAttributes: { k: { DataType: "String", StringValue: "v" } },
      }),
    );
    expect(shorter.MessageId).toBeDefined();
  });
});

describe("batches", () => {
  test("SendMessageBatch reports partial failures per entry", async () => {
    const queueUrl = await newQueue({ MaximumMessageSize: "1024" });
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "good", MessageBody: "fine" },
          { Id: "large", MessageBody: "x".repeat(1025) },
          { Id: "invalid", MessageBody: "\u0000" },
        ],
      }),
    );
    expect(result.Successful?.map((entry) => entry.Id)).toEqual(["good"]);
    expect(result.Successful?.[0].MD5OfMessageBody).toBe(md5("fine"));
    const failed = Object.fromEntries(
      (result.Failed ?? []).map((entry) => [entry.Id, entry]),
    );
    expect(failed.large).toMatchObject({
      Code: "InvalidParameterValue",
      SenderFault: true,
    });
    expect(failed.invalid).toMatchObject({
      Code: "InvalidMessageContents",
      SenderFault: true,
    });
    expect(
      (await attributes(queueUrl, ["ApproximateNumberOfMessages"]))
        .ApproximateNumberOfMessages,
    ).toBe("1");
  });

  test("batch requests validate their entries", async () => {
    const queueUrl = await newQueue();
    const eleven = Array.from(
      { length: 11 },
      (_, i) => ({ Id: `e${i}`, MessageBody: "x" }),
    );
    expect(
      await rejection(
        sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: eleven }),
        ),
      ),
    )
      .toBeInstanceOf(TooManyEntriesInBatchRequest);
    expect(
      await rejection(
        sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [] }),
        ),
      ),
    )
      .toBeInstanceOf(EmptyBatchRequest);
    expect(
      await rejection(sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [{ Id: "same", MessageBody: "a" }, {
            Id: "same",
            MessageBody: "b",
          }],
        }),
      )),
    ).toBeInstanceOf(BatchEntryIdsNotDistinct);
    expect(
      await rejection(
        sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: [{ Id: "has space", MessageBody: "a" }],
          }),
        ),
      ),
    )
      .toBeInstanceOf(InvalidBatchEntryId);
    expect(
      await rejection(
        sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [] }),
        ),
      ),
    )
      .toBeInstanceOf(EmptyBatchRequest);
  });

  test("SendMessageBatch limits the total to 1 MiB", async () => {
    const queueUrl = await newQueue();
    const half = "x".repeat(600_000);
    const error = await rejection(sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [{ Id: "a", MessageBody: half }, {
          Id: "b",
          MessageBody: half,
        }],
      }),
    ));
    expect(error).toBeInstanceOf(BatchRequestTooLong);
  });

  test("DeleteMessageBatch and ChangeMessageVisibilityBatch report bad handles", async () => {
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [{ Id: "a", MessageBody: "a" }, { Id: "b", MessageBody: "b" }],
      }),
    );
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 600,
      }),
    );
    expect(Messages).toHaveLength(2);

    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          {
            Id: "ok",
            ReceiptHandle: Messages![0].ReceiptHandle,
            VisibilityTimeout: 0,
          },
          { Id: "bad", ReceiptHandle: "garbage", VisibilityTimeout: 0 },
        ],
      }),
    );
    expect(changed.Successful?.map((entry) => entry.Id)).toEqual(["ok"]);
    expect(changed.Failed).toEqual([
      expect.objectContaining({
        Id: "bad",
        Code: "ReceiptHandleIsInvalid",
        SenderFault: true,
      }),
    ]);

    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "ok", ReceiptHandle: Messages![1].ReceiptHandle },
          { Id: "bad", ReceiptHandle: "garbage" },
        ],
      }),
    );
    expect(deleted.Successful?.map((entry) => entry.Id)).toEqual(["ok"]);
    expect(deleted.Failed).toEqual([
      expect.objectContaining({
        Id: "bad",
        Code: "ReceiptHandleIsInvalid",
        SenderFault: true,
      }),
    ]);
    const counts = await attributes(queueUrl, [
      "ApproximateNumberOfMessages",
      "ApproximateNumberOfMessagesNotVisible",
    ]);
    expect(counts).toEqual({
      ApproximateNumberOfMessages: "1",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
  });
});

describe("dead-letter queues", () => {
  test("a message moves to the DLQ after maxReceiveCount receives", async () => {
    const dlqUrl = await newQueue();
    const dlqArn = (await attributes(dlqUrl, ["QueueArn"])).QueueArn;
    const redrivePolicy = JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: 2,
    });
    const queueUrl = await newQueue({ RedrivePolicy: redrivePolicy });
    const stored = JSON.parse(
      (await attributes(queueUrl, ["RedrivePolicy"])).RedrivePolicy,
    );
    expect(stored).toEqual({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 });

    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "poison" }),
    );
    for (let receive = 1; receive <= 2; receive++) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          VisibilityTimeout: 0,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      expect(Messages?.[0].Attributes?.ApproximateReceiveCount).toBe(
        String(receive),
      );
    }
    // The third receive exceeds maxReceiveCount, so SQS moves the message.
    const third = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl }),
    );
    expect(third.Messages ?? []).toHaveLength(0);

    const dead = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl }),
    );
    expect(dead.Messages?.[0].MessageId).toBe(sent.MessageId);
    expect(dead.Messages?.[0].Body).toBe("poison");

    const sources = await sqs.send(
      new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlqUrl }),
    );
    expect(sources.queueUrls).toEqual([queueUrl]);
  });

  test("RedrivePolicy must name an existing queue and a valid count", async () => {
    const missing = JSON.stringify({
      deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:no-such-dlq",
      maxReceiveCount: 3,
    });
    const error = await rejection(
      sqs.send(
        new CreateQueueCommand({
          QueueName: "bad-redrive",
          Attributes: { RedrivePolicy: missing },
        }),
      ),
    );
    expect(error.name).toBe("InvalidParameterValue");

    const dlqUrl = await newQueue();
    const dlqArn = (await attributes(dlqUrl, ["QueueArn"])).QueueArn;
    const zero = JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: 0,
    });
    const zeroError = await rejection(
      sqs.send(
        new CreateQueueCommand({
          QueueName: "zero-redrive",
          Attributes: { RedrivePolicy: zero },
        }),
      ),
    );
    expect(zeroError.name).toBe("InvalidParameterValue");
  });
});

describe("long polling", () => {
  test("ReceiveMessage returns as soon as a message arrives", async () => {
    const queueUrl = await newQueue();
    const started = Date.now();
    const receive = sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }),
    );
    await sleep(300);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "wake up" }),
    );
    const { Messages } = await receive;
    expect(Messages?.[0].Body).toBe("wake up");
    // Returned well before the 20 s wait time ran out.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test("abandoned long poll receives nothing", async () => {
    const queueUrl = await newQueue();
    const controller = new AbortController();
    const abandoned = sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }),
      { abortSignal: controller.signal },
    ).catch((error: Error) => error);
    await sleep(300);
    controller.abort();
    expect(await abandoned).toBeInstanceOf(Error);
    // The server learns of the disconnect when the socket's close arrives,
    // which can trail the client-side rejection by a few milliseconds.
    await sleep(300);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "for later" }),
    );
    // Longer than the server's 200 ms wake-up tick, so a poll still running
    // would have taken the message by now.
    await sleep(600);
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }),
    );
    expect(Messages?.[0].Body).toBe("for later");
  });

  test("ReceiveMessage waits up to WaitTimeSeconds on an empty queue", async () => {
    const queueUrl = await newQueue();
    const started = Date.now();
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
    );
    expect(Messages ?? []).toHaveLength(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  test("queue attribute ReceiveMessageWaitTimeSeconds sets the default wait", async () => {
    const queueUrl = await newQueue({ ReceiveMessageWaitTimeSeconds: "20" });
    const receive = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    await sleep(300);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "waited" }),
    );
    expect((await receive).Messages?.[0].Body).toBe("waited");
  });
});

describe("depth", () => {
  test("a queue holds 10,000 messages and counts them", async () => {
    const queueUrl = await newQueue();
    // Five senders with 200 batches of 10 each.
    await Promise.all(Array.from({ length: 5 }, async (_, sender) => {
      for (let batch = 0; batch < 200; batch++) {
        const Entries = Array.from(
          { length: 10 },
          (_, i) => ({
            Id: `m${i}`,
            MessageBody: `message ${sender}-${batch}-${i}`,
          }),
        );
        const result = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }),
        );
        expect(result.Failed ?? []).toHaveLength(0);
      }
    }));
    expect(
      (await attributes(queueUrl, ["ApproximateNumberOfMessages"]))
        .ApproximateNumberOfMessages,
    ).toBe("10000");
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
      }),
    );
    expect(Messages).toHaveLength(10);
    const counts = await attributes(queueUrl, [
      "ApproximateNumberOfMessages",
      "ApproximateNumberOfMessagesNotVisible",
    ]);
    expect(counts).toEqual({
      ApproximateNumberOfMessages: "9990",
      ApproximateNumberOfMessagesNotVisible: "10",
    });
  });
});
