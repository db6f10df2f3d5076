// The SQS wire format below the SDK: error bodies and headers, and
// requests that are not AWS JSON 1.0.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type LocalStack } from "../../local/mod.ts";
import { makeTempDir, removeDir, startLocalStack } from "./helpers.ts";

let dataDir: string;
let stack: LocalStack;

beforeAll(async () => {
  dataDir = await makeTempDir();
  stack = await startLocalStack({ dataDir });
});

afterAll(async () => {
  await stack?.stop();
  await removeDir(dataDir);
});

function post(target: string, body: string): Promise<Response> {
  return fetch(`${stack.sqsEndpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": target,
    },
    body,
  });
}

describe("SQS wire format", () => {
  test("errors carry __type and x-amzn-query-error", async () => {
    const response = await post(
      "AmazonSQS.GetQueueUrl",
      JSON.stringify({ QueueName: "absent" }),
    );
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe(
      "application/x-amz-json-1.0",
    );
    expect(response.headers.get("x-amzn-query-error")).toBe(
      "AWS.SimpleQueueService.NonExistentQueue;Sender",
    );
    expect(await response.json()).toEqual({
      __type: "com.amazonaws.sqs#QueueDoesNotExist",
      message: "The specified queue does not exist.",
    });
  });

  test("successful responses are JSON objects", async () => {
    const response = await post(
      "AmazonSQS.CreateQueue",
      JSON.stringify({ QueueName: "wire" }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      QueueUrl: `${stack.sqsEndpoint}/000000000000/wire`,
    });
  });

  test("a binary attribute that is not base64 is rejected", async () => {
    const created = await (await post(
      "AmazonSQS.CreateQueue",
      JSON.stringify({ QueueName: "binary" }),
    )).json();
    const response = await post(
      "AmazonSQS.SendMessage",
      JSON.stringify({
        QueueUrl: created.QueueUrl,
        MessageBody: "x",
        MessageAttributes: {
          blob: { DataType: "Binary", BinaryValue: "not base64!" },
        },
      }),
    );
    expect(response.status).toBe(400);
    expect((await response.json()).__type).toBe(
      "com.amazonaws.sqs#InvalidParameterValue",
    );
  });

  test("a body that is not a JSON object is rejected", async () => {
    const response = await post("AmazonSQS.ListQueues", "[1, 2");
    expect(response.status).toBe(400);
    expect((await response.json()).__type).toBe(
      "com.amazonaws.sqs#SerializationException",
    );
  });

  test("a request without X-Amz-Target is rejected", async () => {
    const response = await fetch(`${stack.sqsEndpoint}/?Action=ListQueues`);
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.__type).toBe("com.amazonaws.sqs#SerializationException");
    expect(body.message).toContain("X-Amz-Target: AmazonSQS.<Action>");
  });
});
