// Message validation and digests as Amazon SQS documents them: allowed
// characters, the size limit that counts the body and every attribute part
// in UTF-8 bytes, and the MD5 digests the SDK compares.

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import {
  invalidMessageContents,
  invalidParameterValue,
  missingParameter,
  SqsError,
} from "./sqs-errors.ts";

/** A message attribute as stored: binary values kept as base64 text. */
export interface StoredAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export type StoredAttributes = Record<string, StoredAttribute>;

/** The maximum number of message attributes per message. */
export const MAX_MESSAGE_ATTRIBUTES = 10;

const encoder = new TextEncoder();

/** Returns the MD5 hex digest of the UTF-8 bytes of `text`. */
export function md5Hex(text: string): string {
  return createHash("md5").update(text, "utf8").digest("hex");
}

/**
 * Computes MD5OfMessageAttributes with the algorithm in the Amazon SQS
 * Developer Guide: attributes sorted by name; for each, the name, the data
 * type (each as a 4-byte big-endian length then UTF-8 bytes), one transport
 * byte (1 for String and Number, 2 for Binary), then the value as length
 * and bytes. Returns undefined when there are no attributes.
 */
export function md5OfAttributes(
  attributes: StoredAttributes | undefined,
): string | undefined {
  if (!attributes) return undefined;
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;

  const hash = createHash("md5");
  const appendWithLength = (bytes: Uint8Array) => {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of names) {
    const attribute = attributes[name];
    appendWithLength(encoder.encode(name));
    appendWithLength(encoder.encode(attribute.DataType));
    if (attribute.BinaryValue !== undefined) {
      hash.update(new Uint8Array([2]));
      appendWithLength(base64Bytes(attribute.BinaryValue));
    } else {
      hash.update(new Uint8Array([1]));
      appendWithLength(encoder.encode(attribute.StringValue ?? ""));
    }
  }
  return hash.digest("hex");
}

// Buffer's base64 decoder skips characters outside the alphabet instead of
// throwing, so size checks on unvalidated input cannot fail here.
function base64Bytes(text: string): Uint8Array {
  return Buffer.from(text, "base64");
}

/** Returns the UTF-8 byte length of the body plus every attribute name, type and value. */
export function messageSize(
  body: string,
  attributes: StoredAttributes | undefined,
): number {
  let size = Buffer.byteLength(body, "utf8");
  for (const [name, attribute] of Object.entries(attributes ?? {})) {
    size += Buffer.byteLength(name, "utf8") +
      Buffer.byteLength(attribute.DataType, "utf8");
    if (attribute.BinaryValue !== undefined) {
      size += base64Bytes(attribute.BinaryValue).length;
    } else size += Buffer.byteLength(attribute.StringValue ?? "", "utf8");
  }
  return size;
}

const ALLOWED_CHARACTERS =
  "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF";

/** Returns the first code point outside the XML 1.0 character set, or undefined. */
export function findInvalidCharacter(text: string): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0xd7ff) continue;
    if (unit === 0x9 || unit === 0xa || unit === 0xd) continue;
    if (unit >= 0xe000 && unit <= 0xfffd) continue;
    // A high surrogate followed by a low surrogate is a code point in
    // #x10000 to #x10FFFF; a lone surrogate is not a character at all.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return unit;
  }
  return undefined;
}

function invalidCharacterError(where: string, codePoint: number): SqsError {
  return invalidMessageContents(
    `Invalid binary character '#x${
      codePoint.toString(16).toUpperCase()
    }' was found in ${where}, the set of allowed characters is ${ALLOWED_CHARACTERS}`,
  );
}

const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\.[^\s]{1,})?$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Validates a SendMessage body and its message attributes (wire form) and
 * returns the attributes in stored form. Throws SqsError
 * (InvalidParameterValue, InvalidMessageContents) naming the bad part.
 */
export function validateMessage(
  body: unknown,
  attributes: unknown,
  maxBytes: number,
): StoredAttributes | undefined {
  if (body === undefined || body === null || body === "") {
    throw missingParameter("MessageBody");
  }
  if (typeof body !== "string") {
    throw invalidParameterValue(
      `Value for parameter MessageBody is invalid. Reason: expected a string, found ${typeof body}.`,
    );
  }
  const badBodyCharacter = findInvalidCharacter(body);
  if (badBodyCharacter !== undefined) {
    throw invalidCharacterError("the message body", badBodyCharacter);
  }

  const stored = validateAttributes(attributes);
  const size = messageSize(body, stored);
  if (size > maxBytes) {
    throw invalidParameterValue(
      `One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`,
    );
  }
  return stored;
}

function validateAttributes(attributes: unknown): StoredAttributes | undefined {
  if (attributes === undefined || attributes === null) return undefined;
  if (typeof attributes !== "object" || Array.isArray(attributes)) {
    throw invalidParameterValue(
      "MessageAttributes must be an object of name to value",
    );
  }
  const entries = Object.entries(attributes as Record<string, unknown>);
  if (entries.length === 0) return undefined;
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw invalidParameterValue(
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }

  const stored: StoredAttributes = {};
  for (const [name, raw] of entries) {
    checkAttributeName(name);
    const value = (raw ?? {}) as Record<string, unknown>;
    const dataType = value.DataType;
    if (
      typeof dataType !== "string" || !DATA_TYPE.test(dataType) ||
      dataType.length > 256
    ) {
      throw invalidParameterValue(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    if (dataType.startsWith("Binary")) {
      if (
        typeof value.BinaryValue !== "string" || value.BinaryValue.length === 0
      ) {
        throw invalidParameterValue(
          `The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${dataType}'.`,
        );
      }
      if (
        !/^[A-Za-z0-9+/]*={0,2}$/.test(value.BinaryValue) ||
        value.BinaryValue.length % 4 !== 0
      ) {
        throw invalidParameterValue(
          `The message attribute '${name}' has a BinaryValue that is not valid base64.`,
        );
      }
      stored[name] = { DataType: dataType, BinaryValue: value.BinaryValue };
      continue;
    }
    const text = value.StringValue;
    if (typeof text !== "string" || text.length === 0) {
      throw invalidParameterValue(
        `The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${dataType}'.`,
      );
    }
    if (dataType.startsWith("Number") && !NUMBER.test(text)) {
      throw invalidParameterValue(
        `Can't parse the value '${text}' of the message attribute '${name}' as a number.`,
      );
    }
    const badCharacter = findInvalidCharacter(text);
    if (badCharacter !== undefined) {
      throw invalidCharacterError(
        `the message attribute '${name}'`,
        badCharacter,
      );
    }
    stored[name] = { DataType: dataType, StringValue: text };
  }
  return stored;
}

function checkAttributeName(name: string): void {
  const lower = name.toLowerCase();
  const reserved = lower.startsWith("aws.") || lower.startsWith("amazon.");
  const badDots = name.startsWith(".") || name.endsWith(".") ||
    name.includes("..");
  if (!ATTRIBUTE_NAME.test(name) || reserved || badDots) {
    throw invalidParameterValue(
      `Message (user) attribute name '${name}' is invalid: use 1 to 256 of A-Z, a-z, 0-9, '_', '-', '.', without a leading, trailing or doubled '.', and not starting with 'AWS.' or 'Amazon.'`,
    );
  }
}
