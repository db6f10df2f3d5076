// SQS errors in the AWS JSON 1.0 shape. The body carries
// `__type: "com.amazonaws.sqs#<Shape>"` and `message`; the
// `x-amzn-query-error: <QueryCode>;Sender` header carries the older Query
// API code. @aws-sdk/client-sqs 3.1178 reads the header first (it is
// "query compatible") and maps both forms to the same exception class.

/** One SQS error: shape name, Query API code, HTTP status and message. */
export class SqsError extends Error {
  constructor(
    readonly shape: string,
    readonly queryCode: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = shape;
  }

  /** The JSON error body. */
  toBody(): { __type: string; message: string } {
    return { __type: `com.amazonaws.sqs#${this.shape}`, message: this.message };
  }

  /** The `x-amzn-query-error` header value. */
  queryErrorHeader(): string {
    return `${this.queryCode};Sender`;
  }
}

// Query codes and statuses follow the awsQueryError traits in the
// client-sqs model, so the SDK raises its modeled exception classes.
export const queueDoesNotExist = () =>
  new SqsError(
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    400,
    "The specified queue does not exist.",
  );

export const queueNameExists = (name: string) =>
  new SqsError(
    "QueueNameExists",
    "QueueAlreadyExists",
    400,
    `A queue named ${name} already exists with different attribute values`,
  );

export const receiptHandleIsInvalid = (handle: string) =>
  new SqsError(
    "ReceiptHandleIsInvalid",
    "ReceiptHandleIsInvalid",
    404,
    `The input receipt handle "${handle}" is not a valid receipt handle.`,
  );

export const invalidParameterValue = (message: string) =>
  new SqsError("InvalidParameterValue", "InvalidParameterValue", 400, message);

export const missingParameter = (name: string) =>
  new SqsError(
    "MissingParameter",
    "MissingParameter",
    400,
    `The request must contain the parameter ${name}.`,
  );

export const invalidAttributeName = (name: string) =>
  new SqsError(
    "InvalidAttributeName",
    "InvalidAttributeName",
    400,
    `Unknown Attribute ${name}.`,
  );

export const invalidAttributeValue = (name: string, reason: string) =>
  new SqsError(
    "InvalidAttributeValue",
    "InvalidAttributeValue",
    400,
    `Invalid value for the parameter ${name}. Reason: ${reason}`,
  );

export const invalidMessageContents = (message: string) =>
  new SqsError(
    "InvalidMessageContents",
    "InvalidMessageContents",
    400,
    message,
  );

export const emptyBatchRequest = () =>
  new SqsError(
    "EmptyBatchRequest",
    "AWS.SimpleQueueService.EmptyBatchRequest",
    400,
    "There should be at least one entry in the request.",
  );

export const tooManyEntriesInBatchRequest = (count: number) =>
  new SqsError(
    "TooManyEntriesInBatchRequest",
    "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    400,
    `Maximum number of entries per request are 10. You have sent ${count}.`,
  );

export const batchEntryIdsNotDistinct = (id: string) =>
  new SqsError(
    "BatchEntryIdsNotDistinct",
    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    400,
    `Id ${id} repeated.`,
  );

export const invalidBatchEntryId = (id: string) =>
  new SqsError(
    "InvalidBatchEntryId",
    "AWS.SimpleQueueService.InvalidBatchEntryId",
    400,
    `A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long, found "${id}".`,
  );

export const batchRequestTooLong = (bytes: number, limit: number) =>
  new SqsError(
    "BatchRequestTooLong",
    "AWS.SimpleQueueService.BatchRequestTooLong",
    400,
    `Batch requests cannot be longer than ${limit} bytes. You have sent ${bytes} bytes.`,
  );

export const purgeQueueInProgress = (name: string) =>
  new SqsError(
    "PurgeQueueInProgress",
    "AWS.SimpleQueueService.PurgeQueueInProgress",
    403,
    `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`,
  );

export const unsupportedOperation = (operation: string) =>
  new SqsError(
    "UnsupportedOperation",
    "AWS.SimpleQueueService.UnsupportedOperation",
    400,
    `Operation ${operation} is not supported by the local SQS endpoint`,
  );

export const invalidAddress = (url: string) =>
  new SqsError(
    "InvalidAddress",
    "InvalidAddress",
    404,
    `The address ${url} is not valid for this endpoint.`,
  );

export const serializationError = (reason: string) =>
  new SqsError("SerializationException", "SerializationException", 400, reason);
