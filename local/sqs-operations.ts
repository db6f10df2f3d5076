// SQS operations over the queue store: one function per X-Amz-Target
// action, taking the decoded JSON input and returning the JSON output.
// Inputs are checked as the SQS API reference describes; each check throws
// the SqsError that SQS returns for it.

import {
  type NewMessage,
  type Queue,
  type QueueStore,
  type ReceivedMessage,
} from "./queue-store.ts";
import {
  ACCOUNT_ID,
  QUEUE_ATTRIBUTE_DEFAULTS,
  queueArn,
} from "./sqs-attributes.ts";
import {
  batchEntryIdsNotDistinct,
  batchRequestTooLong,
  emptyBatchRequest,
  invalidAddress,
  invalidAttributeName,
  invalidBatchEntryId,
  invalidParameterValue,
  missingParameter,
  purgeQueueInProgress,
  queueDoesNotExist,
  queueNameExists,
  receiptHandleIsInvalid,
  SqsError,
  tooManyEntriesInBatchRequest,
  unsupportedOperation,
} from "./sqs-errors.ts";
import {
  messageSize,
  type StoredAttributes,
  validateMessage,
} from "./sqs-message.ts";

/** Per-request facts the operations need. */
export interface RequestContext {
  /** Base URL of this endpoint, e.g. `http://127.0.0.1:4566`. */
  endpoint: string;
  region: string;
  /** Access key id from the request signature; reported as SenderId. */
  senderId: string;
  now: () => number;
  /**
   * True once the client closed the connection. A long poll then stops
   * without receiving, so no message is hidden behind a response that no
   * client reads.
   */
  clientGone?: () => boolean;
}

/** Long-poll hooks supplied by the HTTP layer. */
export interface Waiters {
  /** Wakes long polls waiting on the queue. */
  notify(queueId: number): void;
  /** Resolves after `ms` or when the queue is notified, whichever comes first; false once the server stops. */
  wait(queueId: number, ms: number): Promise<boolean>;
}

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH_ENTRIES = 10;
// SendMessageBatch limits the sum of all entries to the same 1 MiB
// (1,048,576 bytes) as one message, per the SQS API reference.
const MAX_BATCH_BYTES = 1048576;
const MAX_VISIBILITY_SECONDS = 43200;
const PURGE_INTERVAL_MS = 60_000;
// Attributes a queue may lack; asking for them returns nothing, not an error.
const OPTIONAL_QUEUE_ATTRIBUTES = new Set([
  "RedrivePolicy",
  "Policy",
  "RedriveAllowPolicy",
  "KmsMasterKeyId",
  "KmsDataKeyReusePeriodSeconds",
  "SqsManagedSseEnabled",
]);
const RECEIVE_SYSTEM_ATTRIBUTES = [
  "SenderId",
  "SentTimestamp",
  "ApproximateReceiveCount",
  "ApproximateFirstReceiveTimestamp",
  "AWSTraceHeader",
];

/** Runs SQS operations against one store. */
export class SqsOperations {
  constructor(readonly store: QueueStore, readonly waiters: Waiters) {}

  /** Dispatches one action by name; throws SqsError for bad input. */
  async run(
    action: string,
    input: Input,
    context: RequestContext,
  ): Promise<Output> {
    switch (action) {
      case "CreateQueue":
        return this.createQueue(input, context);
      case "GetQueueUrl":
        return this.getQueueUrl(input, context);
      case "ListQueues":
        return this.listQueues(input, context);
      case "DeleteQueue":
        this.store.delete(this.#queue(input));
        return {};
      case "GetQueueAttributes":
        return this.getQueueAttributes(input, context);
      case "SetQueueAttributes":
        this.store.setAttributes(
          this.#queue(input),
          objectInput(input.Attributes, "Attributes"),
        );
        return {};
      case "TagQueue":
        return this.tagQueue(input);
      case "UntagQueue":
        return this.untagQueue(input);
      case "ListQueueTags":
        return this.listQueueTags(input);
      case "ListDeadLetterSourceQueues":
        return this.listDeadLetterSourceQueues(input, context);
      case "PurgeQueue":
        return this.purgeQueue(input, context);
      case "SendMessage":
        return this.sendMessage(input, context);
      case "SendMessageBatch":
        return this.sendMessageBatch(input, context);
      case "ReceiveMessage":
        return await this.receiveMessage(input, context);
      case "DeleteMessage":
        return this.deleteMessage(input);
      case "DeleteMessageBatch":
        return this.deleteMessageBatch(input);
      case "ChangeMessageVisibility":
        return this.changeMessageVisibility(input, context);
      case "ChangeMessageVisibilityBatch":
        return this.changeMessageVisibilityBatch(input, context);
      default:
        throw unsupportedOperation(action);
    }
  }

  createQueue(input: Input, context: RequestContext): Output {
    const name = requiredString(input, "QueueName");
    if (name.endsWith(".fifo")) {
      throw invalidParameterValue(
        `Value ${name} for parameter QueueName is invalid. Reason: FIFO queues are not supported by the local SQS endpoint.`,
      );
    }
    if (!QUEUE_NAME.test(name)) {
      throw invalidParameterValue(
        `Value ${name} for parameter QueueName is invalid. Reason: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.`,
      );
    }
    const tags = stringMap(input.tags, "tags");
    const queue = this.store.create(
      name,
      context.region,
      objectInput(input.Attributes, "Attributes"),
      tags,
    );
    if (!queue) throw queueNameExists(name);
    return { QueueUrl: queueUrl(context, queue) };
  }

  getQueueUrl(input: Input, context: RequestContext): Output {
    const queue = this.store.get(requiredString(input, "QueueName"));
    if (!queue) throw queueDoesNotExist();
    return { QueueUrl: queueUrl(context, queue) };
  }

  listQueues(input: Input, context: RequestContext): Output {
    const prefix = optionalString(input, "QueueNamePrefix") ?? "";
    const maxResults = optionalInteger(input, "MaxResults", 1, 1000);
    const token = optionalString(input, "NextToken");
    let names = this.store.names(prefix);
    if (token !== undefined) names = names.filter((name) => name > token);
    if (maxResults === undefined) {
      // Without MaxResults SQS returns at most 1,000 queues and no token.
      return names.length === 0 ? {} : {
        QueueUrls: names.slice(0, 1000).map((name) =>
          queueUrl(context, this.store.get(name)!)
        ),
      };
    }
    const page = names.slice(0, maxResults);
    const output: Output = {};
    if (page.length > 0) {
      output.QueueUrls = page.map((name) =>
        queueUrl(context, this.store.get(name)!)
      );
    }
    if (names.length > page.length) output.NextToken = page[page.length - 1];
    return output;
  }

  getQueueAttributes(input: Input, context: RequestContext): Output {
    const queue = this.#queue(input);
    const requested = stringList(input.AttributeNames, "AttributeNames");
    const all = this.#allAttributes(queue, context);
    const names = requested.includes("All") ? Object.keys(all) : requested;
    const attributes: Record<string, string> = {};
    for (const name of names) {
      if (name in all) attributes[name] = all[name];
      else if (!OPTIONAL_QUEUE_ATTRIBUTES.has(name)) {
        throw invalidAttributeName(name);
      }
    }
    return Object.keys(attributes).length === 0
      ? {}
      : { Attributes: attributes };
  }

  tagQueue(input: Input): Output {
    const queue = this.#queue(input);
    this.store.setTags(queue, {
      ...queue.tags,
      ...stringMap(input.Tags, "Tags"),
    });
    return {};
  }

  untagQueue(input: Input): Output {
    const queue = this.#queue(input);
    const tags = { ...queue.tags };
    for (const key of stringList(input.TagKeys, "TagKeys")) delete tags[key];
    this.store.setTags(queue, tags);
    return {};
  }

  listQueueTags(input: Input): Output {
    const queue = this.#queue(input);
    return Object.keys(queue.tags).length === 0 ? {} : { Tags: queue.tags };
  }

  listDeadLetterSourceQueues(input: Input, context: RequestContext): Output {
    const queue = this.#queue(input);
    const urls = this.store.deadLetterSources(queue).map((name) =>
      queueUrl(context, this.store.get(name)!)
    );
    return { queueUrls: urls };
  }

  purgeQueue(input: Input, context: RequestContext): Output {
    const queue = this.#queue(input);
    const now = context.now();
    if (queue.purgedMs > 0 && now - queue.purgedMs < PURGE_INTERVAL_MS) {
      throw purgeQueueInProgress(queue.name);
    }
    this.store.purge(queue, now);
    return {};
  }

  sendMessage(input: Input, context: RequestContext): Output {
    const queue = this.#queue(input);
    const message = this.#newMessage(queue, input, context);
    const [sent] = this.store.send(queue, [message], context.now());
    this.waiters.notify(queue.id);
    return compact({
      MessageId: sent.messageId,
      MD5OfMessageBody: sent.md5OfBody,
      MD5OfMessageAttributes: sent.md5OfAttributes,
      MD5OfMessageSystemAttributes: sent.md5OfSystemAttributes,
    });
  }

  sendMessageBatch(input: Input, context: RequestContext): Output {
    const queue = this.#queue(input);
    const entries = batchEntries(input);
    const total = entries.reduce(
      (sum, entry) =>
        sum +
        (typeof entry.MessageBody === "string"
          ? messageSize(
            entry.MessageBody,
            plainAttributes(entry.MessageAttributes),
          )
          : 0),
      0,
    );
    if (total > MAX_BATCH_BYTES) {
      throw batchRequestTooLong(total, MAX_BATCH_BYTES);
    }

    const accepted: { id: string; message: NewMessage }[] = [];
    const failed: Output[] = [];
    for (const entry of entries) {
      try {
        accepted.push({
          id: String(entry.Id),
          message: this.#newMessage(queue, entry, context),
        });
      } catch (error) {
        failed.push(batchFailure(String(entry.Id), error));
      }
    }
    const sent = this.store.send(
      queue,
      accepted.map((entry) => entry.message),
      context.now(),
    );
    if (sent.length > 0) this.waiters.notify(queue.id);
    return {
      Successful: sent.map((result, index) =>
        compact({
          Id: accepted[index].id,
          MessageId: result.messageId,
          MD5OfMessageBody: result.md5OfBody,
          MD5OfMessageAttributes: result.md5OfAttributes,
          MD5OfMessageSystemAttributes: result.md5OfSystemAttributes,
        })
      ),
      Failed: failed,
    };
  }

  async receiveMessage(input: Input, context: RequestContext): Promise<Output> {
    const queue = this.#queue(input);
    const max = optionalInteger(
      input,
      "MaxNumberOfMessages",
      1,
      10,
      "Value %s for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
    ) ?? 1;
    const waitSeconds = optionalInteger(
      input,
      "WaitTimeSeconds",
      0,
      20,
      "Value %s for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.",
    ) ??
      Number(queue.attributes.ReceiveMessageWaitTimeSeconds ?? 0);
    const visibility =
      optionalInteger(input, "VisibilityTimeout", 0, MAX_VISIBILITY_SECONDS) ??
        Number(
          queue.attributes.VisibilityTimeout ??
            QUEUE_ATTRIBUTE_DEFAULTS.VisibilityTimeout,
        );
    const systemNames = [
      ...stringList(input.AttributeNames, "AttributeNames"),
      ...stringList(
        input.MessageSystemAttributeNames,
        "MessageSystemAttributeNames",
      ),
    ];
    const attributeNames = stringList(
      input.MessageAttributeNames,
      "MessageAttributeNames",
    );

    // Long polling: try now, then again whenever a send to this queue
    // wakes us (or every waiter tick, to catch visibility expiry), until
    // the wait time is over.
    const deadline = context.now() + waitSeconds * 1000;
    let messages = this.store.receive(queue, max, visibility, context.now());
    while (messages.length === 0 && context.now() < deadline) {
      if (this.store.get(queue.name) !== queue) throw queueDoesNotExist();
      const running = await this.waiters.wait(
        queue.id,
        deadline - context.now(),
      );
      if (!running || context.clientGone?.()) break;
      messages = this.store.receive(queue, max, visibility, context.now());
    }
    if (messages.length === 0) return {};
    return {
      Messages: messages.map((message) =>
        formatMessage(message, systemNames, attributeNames)
      ),
    };
  }

  deleteMessage(input: Input): Output {
    const queue = this.#queue(input);
    const handle = requiredString(input, "ReceiptHandle");
    if (this.store.deleteMessage(queue, handle) === "invalid") {
      throw receiptHandleIsInvalid(handle);
    }
    return {};
  }

  deleteMessageBatch(input: Input): Output {
    const queue = this.#queue(input);
    const successful: Output[] = [];
    const failed: Output[] = [];
    for (const entry of batchEntries(input)) {
      const id = String(entry.Id);
      const handle = typeof entry.ReceiptHandle === "string"
        ? entry.ReceiptHandle
        : "";
      if (this.store.deleteMessage(queue, handle) === "invalid") {
        failed.push(batchFailure(id, receiptHandleIsInvalid(handle)));
      } else successful.push({ Id: id });
    }
    return { Successful: successful, Failed: failed };
  }

  changeMessageVisibility(input: Input, context: RequestContext): Output {
    const queue = this.#queue(input);
    this.#changeVisibility(
      queue,
      requiredString(input, "ReceiptHandle"),
      input.VisibilityTimeout,
      context,
    );
    return {};
  }

  changeMessageVisibilityBatch(input: Input, context: RequestContext): Output {
    const queue = this.#queue(input);
    const successful: Output[] = [];
    const failed: Output[] = [];
    for (const entry of batchEntries(input)) {
      const id = String(entry.Id);
      try {
        const handle = typeof entry.ReceiptHandle === "string"
          ? entry.ReceiptHandle
          : "";
        this.#changeVisibility(queue, handle, entry.VisibilityTimeout, context);
        successful.push({ Id: id });
      } catch (error) {
        failed.push(batchFailure(id, error));
      }
    }
    return { Successful: successful, Failed: failed };
  }

  #changeVisibility(
    queue: Queue,
    handle: string,
    rawSeconds: unknown,
    context: RequestContext,
  ): void {
    if (
      typeof rawSeconds !== "number" || !Number.isInteger(rawSeconds) ||
      rawSeconds < 0 || rawSeconds > MAX_VISIBILITY_SECONDS
    ) {
      throw invalidParameterValue(
        `Value ${
          String(rawSeconds)
        } for parameter VisibilityTimeout is invalid. Reason: Must be an integer from 0 to ${MAX_VISIBILITY_SECONDS}.`,
      );
    }
    const outcome = this.store.changeVisibility(
      queue,
      handle,
      rawSeconds,
      context.now(),
    );
    if (outcome === "invalid") throw receiptHandleIsInvalid(handle);
    if (outcome === "stale") {
      throw invalidParameterValue(
        `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
  }

  #newMessage(queue: Queue, input: Input, context: RequestContext): NewMessage {
    const maxBytes = Number(
      queue.attributes.MaximumMessageSize ??
        QUEUE_ATTRIBUTE_DEFAULTS.MaximumMessageSize,
    );
    const attributes = validateMessage(
      input.MessageBody,
      input.MessageAttributes,
      maxBytes,
    );
    const delaySeconds = optionalInteger(
      input,
      "DelaySeconds",
      0,
      900,
      "Value %s for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
    ) ??
      Number(queue.attributes.DelaySeconds ?? 0);
    return {
      body: input.MessageBody as string,
      attributes,
      systemAttributes: systemAttributes(input.MessageSystemAttributes),
      delaySeconds,
      senderId: context.senderId,
    };
  }

  #queue(input: Input): Queue {
    const url = requiredString(input, "QueueUrl");
    let name: string;
    try {
      const path = new URL(url).pathname.replace(/\/+$/, "");
      name = decodeURIComponent(path.slice(path.lastIndexOf("/") + 1));
    } catch {
      throw invalidAddress(url);
    }
    const queue = this.store.get(name);
    if (!queue) throw queueDoesNotExist();
    return queue;
  }

  #allAttributes(
    queue: Queue,
    context: RequestContext,
  ): Record<string, string> {
    const counts = this.store.counts(queue, context.now());
    return {
      ...QUEUE_ATTRIBUTE_DEFAULTS,
      ...queue.attributes,
      QueueArn: queueArn(queue.region, queue.name),
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(queue.createdMs / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.modifiedMs / 1000)),
    };
  }
}

/** Builds `http://HOST:PORT/000000000000/NAME` for a queue. */
export function queueUrl(context: RequestContext, queue: Queue): string {
  return `${context.endpoint}/${ACCOUNT_ID}/${queue.name}`;
}

function formatMessage(
  message: ReceivedMessage,
  systemNames: string[],
  attributeNames: string[],
): Output {
  const output: Output = {
    MessageId: message.messageId,
    ReceiptHandle: message.receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
  };

  const wantsAll = systemNames.includes("All");
  const system: Record<string, string> = {};
  const values: Record<string, string> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentMs),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveMs),
  };
  const traceHeader = message.systemAttributes?.AWSTraceHeader?.StringValue;
  if (traceHeader !== undefined) values.AWSTraceHeader = traceHeader;
  for (const name of RECEIVE_SYSTEM_ATTRIBUTES) {
    if (
      (wantsAll || systemNames.includes(name)) && values[name] !== undefined
    ) system[name] = values[name];
  }
  if (Object.keys(system).length > 0) output.Attributes = system;

  // MD5OfMessageAttributes always covers every attribute the message was
  // sent with, even when only some are returned.
  if (message.attributes) {
    const selected = selectAttributes(message.attributes, attributeNames);
    if (selected) output.MessageAttributes = selected;
    output.MD5OfMessageAttributes = message.md5OfAttributes;
  }
  return output;
}

function selectAttributes(
  attributes: StoredAttributes,
  names: string[],
): StoredAttributes | undefined {
  const selected: StoredAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    const matches = names.some((pattern) =>
      pattern === "All" || pattern === ".*" || pattern === name ||
      (pattern.endsWith(".*") && name.startsWith(pattern.slice(0, -1)))
    );
    if (matches) selected[name] = value;
  }
  return Object.keys(selected).length > 0 ? selected : undefined;
}

function systemAttributes(raw: unknown): StoredAttributes | undefined {
  if (raw === undefined || raw === null) return undefined;
  const map = raw as Record<
    string,
    { DataType?: unknown; StringValue?: unknown }
  >;
  for (const name of Object.keys(map)) {
    if (name !== "AWSTraceHeader") {
      throw invalidParameterValue(
        `Message system attribute name '${name}' is invalid: only AWSTraceHeader is supported.`,
      );
    }
  }
  const trace = map.AWSTraceHeader;
  if (!trace) return undefined;
  if (
    trace.DataType !== "String" || typeof trace.StringValue !== "string" ||
    trace.StringValue.length === 0
  ) {
    throw invalidParameterValue(
      "Message system attribute 'AWSTraceHeader' must be of type String with a non-empty StringValue.",
    );
  }
  return {
    AWSTraceHeader: { DataType: "String", StringValue: trace.StringValue },
  };
}

function plainAttributes(raw: unknown): StoredAttributes | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const attributes: StoredAttributes = {};
  for (
    const [name, value] of Object.entries(
      raw as Record<string, Record<string, unknown>>,
    )
  ) {
    attributes[name] = {
      DataType: String(value?.DataType ?? ""),
      StringValue: typeof value?.StringValue === "string"
        ? value.StringValue
        : undefined,
      BinaryValue: typeof value?.BinaryValue === "string"
        ? value.BinaryValue
        : undefined,
    };
  }
  return attributes;
}

function batchEntries(input: Input): Input[] {
  const entries = input.Entries;
  if (
    entries === undefined || entries === null ||
    (Array.isArray(entries) && entries.length === 0)
  ) throw emptyBatchRequest();
  if (!Array.isArray(entries)) {
    throw invalidParameterValue("Entries must be a list of batch entries");
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw tooManyEntriesInBatchRequest(entries.length);
  }
  const seen = new Set<string>();
  for (const entry of entries as Input[]) {
    const id = entry?.Id;
    if (typeof id !== "string" || !BATCH_ENTRY_ID.test(id)) {
      throw invalidBatchEntryId(String(id));
    }
    if (seen.has(id)) throw batchEntryIdsNotDistinct(id);
    seen.add(id);
  }
  return entries as Input[];
}

function batchFailure(id: string, error: unknown): Output {
  if (error instanceof SqsError) {
    return {
      Id: id,
      SenderFault: true,
      Code: error.shape,
      Message: error.message,
    };
  }
  throw error;
}

function compact(output: Output): Output {
  return Object.fromEntries(
    Object.entries(output).filter(([, value]) => value !== undefined),
  );
}

function requiredString(input: Input, name: string): string {
  const value = input[name];
  if (value === undefined || value === null || value === "") {
    throw missingParameter(name);
  }
  if (typeof value !== "string") {
    throw invalidParameterValue(
      `Value for parameter ${name} is invalid. Reason: expected a string, found ${typeof value}.`,
    );
  }
  return value;
}

function optionalString(input: Input, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw invalidParameterValue(
      `Value for parameter ${name} is invalid. Reason: expected a string, found ${typeof value}.`,
    );
  }
  return value;
}

function optionalInteger(
  input: Input,
  name: string,
  min: number,
  max: number,
  template?: string,
): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < min ||
    value > max
  ) {
    throw invalidParameterValue(
      template
        ? template.replace("%s", String(value))
        : `Value ${
          String(value)
        } for parameter ${name} is invalid. Reason: Must be an integer from ${min} to ${max}.`,
    );
  }
  return value;
}

function objectInput(
  value: unknown,
  name: string,
): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalidParameterValue(`${name} must be a map of names to values`);
  }
  return value as Record<string, unknown>;
}

function stringMap(value: unknown, name: string): Record<string, string> {
  const map = objectInput(value, name) ?? {};
  for (const [key, item] of Object.entries(map)) {
    if (typeof item !== "string") {
      throw invalidParameterValue(
        `${name}.${key} must be a string, found ${typeof item}`,
      );
    }
  }
  return map as Record<string, string>;
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw invalidParameterValue(`${name} must be a list of strings`);
  }
  return value as string[];
}
