import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelopeBody, Mesh, poll, type TestActor } from "./harness.ts";

// The namespace has no x-sump queue, so an envelope for an unknown actor
// cannot be routed anywhere: every attempt fails and leaves the message.
describe("sidecar with failing sends", () => {
  let mesh: Mesh;
  let double: TestActor;
  let dlqUrl: string;

  beforeAll(async () => {
    mesh = await Mesh.start("redrive");
    const dlq = await mesh.sqs.send(
      new CreateQueueCommand({ QueueName: mesh.queueName("double-dlq") }),
    );
    dlqUrl = dlq.QueueUrl!;
    const attributes = await mesh.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: dlqUrl,
        AttributeNames: ["QueueArn"],
      }),
    );
    await mesh.sqs.send(
      new CreateQueueCommand({
        QueueName: mesh.queueName("double"),
        Attributes: {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: attributes.Attributes!.QueueArn,
            maxReceiveCount: 2,
          }),
        },
      }),
    );
    await mesh.sqs.send(
      new CreateQueueCommand({ QueueName: mesh.queueName("x-sink") }),
    );
    double = await mesh.startActor({
      actor: "double",
      handler: "sidecar_handlers.double",
      sidecarEnv: { ASYA_SQS_VISIBILITY_TIMEOUT: "2" },
    });
  }, 60_000);

  afterAll(async () => {
    await mesh?.stop();
  }, 60_000);

  it("leaves the message until it reaches the DLQ", async () => {
    const body = envelopeBody(
      "stuck-1",
      { curr: "double", next: ["ghost"] },
      '{"value":1}',
    );
    await mesh.send("double", body);

    const dead = await poll("the message in the DLQ", 30_000, async () => {
      const answer = await mesh.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }),
      );
      return answer.Messages?.[0];
    }, () => double.lines.slice(-20).join("\n"));

    expect(dead.Body).toBe(body);
    const left = double.lines.filter((line) => line.includes('"message_left"'));
    expect(left).toHaveLength(2);
    expect(left[0]).toContain("x-sump end actor does not exist");
    expect(await mesh.queueDepth("double")).toBe(0);
    expect(await mesh.queueDepth("x-sink")).toBe(0);
  });
});
