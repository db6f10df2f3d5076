// Durable queue storage in SQLite. Messages live on disk, not in memory,
// so queue depth is bounded by disk space. Sends and queue changes are
// flushed to disk before the endpoint responds, so an accepted SendMessage
// survives a restart and a power loss. Receives, deletes and visibility
// changes skip the flush: after a power loss they can be undone, which
// only makes a message visible again, as at-least-once delivery allows.

import { randomBytes, randomUUID } from "node:crypto";
import { type Database, transaction } from "./sqlite.ts";
import {
  normaliseQueueAttributes,
  QUEUE_ATTRIBUTE_DEFAULTS,
  queueArn,
  queueNameFromArn,
  type RedrivePolicy,
} from "./sqs-attributes.ts";
import {
  md5Hex,
  md5OfAttributes,
  type StoredAttributes,
} from "./sqs-message.ts";

/** A queue row. */
export interface Queue {
  id: number;
  name: string;
  region: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  createdMs: number;
  modifiedMs: number;
  purgedMs: number;
}

/** A message ready to enqueue. */
export interface NewMessage {
  body: string;
  attributes?: StoredAttributes;
  systemAttributes?: StoredAttributes;
  delaySeconds: number;
  senderId: string;
}

/** Id and digests of one sent message. */
export interface SentMessage {
  messageId: string;
  md5OfBody: string;
  md5OfAttributes?: string;
  md5OfSystemAttributes?: string;
}

/** A received message with its new receipt handle. */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  attributes?: StoredAttributes;
  md5OfAttributes?: string;
  systemAttributes?: StoredAttributes;
  senderId: string;
  sentMs: number;
  receiveCount: number;
  firstReceiveMs: number;
}

/** Message counts by state. */
export interface QueueCounts {
  visible: number;
  inFlight: number;
  delayed: number;
}

/** Result of a receipt-handle operation. */
export type HandleOutcome = "ok" | "invalid" | "stale";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS queues (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  region TEXT NOT NULL,
  attributes TEXT NOT NULL,
  tags TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  modified_ms INTEGER NOT NULL,
  purged_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_id INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  body TEXT NOT NULL,
  md5_body TEXT NOT NULL,
  attributes TEXT,
  md5_attributes TEXT,
  system_attributes TEXT,
  sender_id TEXT NOT NULL,
  sent_ms INTEGER NOT NULL,
  visible_at_ms INTEGER NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  first_receive_ms INTEGER,
  receipt_token TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue_id, visible_at_ms, receive_count);
CREATE INDEX IF NOT EXISTS messages_by_age ON messages (queue_id, sent_ms);
`;

// Receipt handles encode queue id, row id and a per-receive token, so a
// handle from an earlier receive of the same message no longer matches.
function encodeHandle(queueId: number, rowId: number, token: string): string {
  return btoa(`${queueId}:${rowId}:${token}`);
}

function decodeHandle(
  handle: string,
): { queueId: number; rowId: number; token: string } | undefined {
  let text: string;
  try {
    text = atob(handle);
  } catch {
    return undefined;
  }
  const match = /^(\d+):(\d+):([0-9a-f]{32})$/.exec(text);
  if (!match) return undefined;
  return {
    queueId: Number(match[1]),
    rowId: Number(match[2]),
    token: match[3],
  };
}

/** Queue and message storage over one SQLite database. */
export class QueueStore {
  #db: Database;
  #queues = new Map<string, Queue>();

  constructor(db: Database) {
    this.#db = db;
    db.exec(SCHEMA);
    for (const row of db.prepare("SELECT * FROM queues").all()) {
      const queue = rowToQueue(row);
      this.#queues.set(queue.name, queue);
    }
  }

  /** Returns the queue with this name, or undefined. */
  get(name: string): Queue | undefined {
    return this.#queues.get(name);
  }

  /** Returns queue names in sorted order, filtered by prefix. */
  names(prefix = ""): string[] {
    return [...this.#queues.keys()].filter((name) => name.startsWith(prefix))
      .sort();
  }

  /** Returns whether a queue exists for this ARN (matched by name). */
  existsByArn = (arn: string): boolean =>
    this.#queues.has(queueNameFromArn(arn));

  /**
   * Creates the queue, or returns the existing one when every given
   * attribute matches; returns undefined on a mismatch.
   */
  create(
    name: string,
    region: string,
    rawAttributes: Record<string, unknown> | undefined,
    tags: Record<string, string>,
  ): Queue | undefined {
    const given = normaliseQueueAttributes(rawAttributes, this.existsByArn);
    const existing = this.#queues.get(name);
    if (existing) {
      const current = { ...QUEUE_ATTRIBUTE_DEFAULTS, ...existing.attributes };
      const matches = Object.entries(given).every(([key, value]) =>
        (current[key] ?? "") === value
      );
      return matches ? existing : undefined;
    }

    const now = Date.now();
    const attributes = { ...QUEUE_ATTRIBUTE_DEFAULTS, ...given };
    this.#db
      .prepare(
        "INSERT INTO queues (name, region, attributes, tags, created_ms, modified_ms) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(
        name,
        region,
        JSON.stringify(attributes),
        JSON.stringify(tags),
        now,
        now,
      );
    const row = this.#db.prepare("SELECT * FROM queues WHERE name = ?").get(
      name,
    );
    const queue = rowToQueue(row!);
    this.#queues.set(name, queue);
    return queue;
  }

  /** Deletes the queue and all its messages. */
  delete(queue: Queue): void {
    transaction(this.#db, () => {
      this.#db.prepare("DELETE FROM messages WHERE queue_id = ?").run(queue.id);
      this.#db.prepare("DELETE FROM queues WHERE id = ?").run(queue.id);
    });
    this.#queues.delete(queue.name);
  }

  /** Validates and stores attributes; throws the SQS attribute errors. */
  setAttributes(
    queue: Queue,
    rawAttributes: Record<string, unknown> | undefined,
  ): void {
    const given = normaliseQueueAttributes(rawAttributes, this.existsByArn);
    const attributes = { ...queue.attributes, ...given };
    if (attributes.RedrivePolicy === "") delete attributes.RedrivePolicy;
    const now = Date.now();
    this.#db.prepare(
      "UPDATE queues SET attributes = ?, modified_ms = ? WHERE id = ?",
    ).run(JSON.stringify(attributes), now, queue.id);
    queue.attributes = attributes;
    queue.modifiedMs = now;
  }

  /** Replaces the queue's tags. */
  setTags(queue: Queue, tags: Record<string, string>): void {
    this.#db.prepare("UPDATE queues SET tags = ? WHERE id = ?").run(
      JSON.stringify(tags),
      queue.id,
    );
    queue.tags = tags;
  }

  /** Records a purge time, used to enforce one purge per 60 seconds. */
  purge(queue: Queue, now: number): void {
    transaction(this.#db, () => {
      this.#db.prepare("DELETE FROM messages WHERE queue_id = ?").run(queue.id);
      this.#db.prepare("UPDATE queues SET purged_ms = ? WHERE id = ?").run(
        now,
        queue.id,
      );
    });
    queue.purgedMs = now;
  }

  /** Counts messages that are visible, in flight (received, not yet visible again) and delayed. */
  counts(queue: Queue, now: number): QueueCounts {
    const visible = this.#db
      .prepare(
        "SELECT COUNT(*) AS n FROM messages WHERE queue_id = ? AND visible_at_ms <= ?",
      )
      .get(queue.id, now);
    const hidden = this.#db
      .prepare(
        "SELECT SUM(receive_count > 0) AS in_flight, SUM(receive_count = 0) AS delayed FROM messages WHERE queue_id = ? AND visible_at_ms > ?",
      )
      .get(queue.id, now);
    return {
      visible: Number(visible?.n ?? 0),
      inFlight: Number(hidden?.in_flight ?? 0),
      delayed: Number(hidden?.delayed ?? 0),
    };
  }

  /** Stores the messages in one transaction and returns their ids and digests. */
  send(queue: Queue, messages: NewMessage[], now: number): SentMessage[] {
    const insert = this.#db.prepare(
      "INSERT INTO messages (queue_id, message_id, body, md5_body, attributes, md5_attributes, system_attributes, sender_id, sent_ms, visible_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    return transaction(this.#db, () =>
      messages.map((message) => {
        const sent: SentMessage = {
          messageId: randomUUID(),
          md5OfBody: md5Hex(message.body),
          md5OfAttributes: md5OfAttributes(message.attributes),
          md5OfSystemAttributes: md5OfAttributes(message.systemAttributes),
        };
        insert.run(
          queue.id,
          sent.messageId,
          message.body,
          sent.md5OfBody,
          message.attributes ? JSON.stringify(message.attributes) : null,
          sent.md5OfAttributes ?? null,
          message.systemAttributes
            ? JSON.stringify(message.systemAttributes)
            : null,
          message.senderId,
          now,
          now + message.delaySeconds * 1000,
        );
        return sent;
      }));
  }

  /**
   * Receives up to `max` visible messages and hides them for
   * `visibilitySeconds`. A message already received `maxReceiveCount`
   * times moves to the dead-letter queue instead, with its receive count
   * reset to zero.
   */
  receive(
    queue: Queue,
    max: number,
    visibilitySeconds: number,
    now: number,
  ): ReceivedMessage[] {
    const redrive = this.#redrivePolicy(queue);
    const deadLetterQueue = redrive
      ? this.#queues.get(queueNameFromArn(redrive.deadLetterTargetArn))
      : undefined;
    const select = this.#db.prepare(
      "SELECT * FROM messages WHERE queue_id = ? AND visible_at_ms <= ? ORDER BY visible_at_ms LIMIT ?",
    );
    const hide = this.#db.prepare(
      "UPDATE messages SET visible_at_ms = ?, receive_count = receive_count + 1, first_receive_ms = COALESCE(first_receive_ms, ?), receipt_token = ? WHERE id = ?",
    );
    const moveToDeadLetterQueue = this.#db.prepare(
      "UPDATE messages SET queue_id = ?, visible_at_ms = ?, receive_count = 0, first_receive_ms = NULL, receipt_token = NULL WHERE id = ?",
    );

    return transaction(this.#db, () => {
      const received: ReceivedMessage[] = [];
      // Each pass either delivers or moves every row it selects, so the
      // loop ends; the bound only caps work when many rows move at once.
      for (let pass = 0; pass < 100 && received.length < max; pass++) {
        const rows = select.all(queue.id, now, max - received.length);
        if (rows.length === 0) break;
        for (const row of rows) {
          const receiveCount = Number(row.receive_count);
          if (
            redrive && deadLetterQueue &&
            receiveCount >= redrive.maxReceiveCount
          ) {
            moveToDeadLetterQueue.run(deadLetterQueue.id, now, Number(row.id));
            continue;
          }
          const token = randomBytes(16).toString("hex");
          hide.run(now + visibilitySeconds * 1000, now, token, Number(row.id));
          received.push({
            messageId: String(row.message_id),
            receiptHandle: encodeHandle(queue.id, Number(row.id), token),
            body: String(row.body),
            md5OfBody: String(row.md5_body),
            attributes: row.attributes
              ? JSON.parse(String(row.attributes))
              : undefined,
            md5OfAttributes: row.md5_attributes
              ? String(row.md5_attributes)
              : undefined,
            systemAttributes: row.system_attributes
              ? JSON.parse(String(row.system_attributes))
              : undefined,
            senderId: String(row.sender_id),
            sentMs: Number(row.sent_ms),
            receiveCount: receiveCount + 1,
            firstReceiveMs: row.first_receive_ms === null
              ? now
              : Number(row.first_receive_ms),
          });
        }
      }
      return received;
    }, "relaxed");
  }

  /** Returns whether the handle is well formed and belongs to this queue. */
  isValidHandle(queue: Queue, handle: string): boolean {
    const decoded = decodeHandle(handle);
    return decoded !== undefined && decoded.queueId === queue.id;
  }

  /**
   * Deletes the message the handle was issued for. A handle from an earlier
   * receive returns "stale" and deletes nothing, as SQS documents; a handle
   * for a message already deleted returns "ok".
   */
  deleteMessage(queue: Queue, handle: string): HandleOutcome {
    const decoded = decodeHandle(handle);
    if (!decoded || decoded.queueId !== queue.id) return "invalid";
    const result = transaction(this.#db, () =>
      this.#db
        .prepare(
          "DELETE FROM messages WHERE id = ? AND queue_id = ? AND receipt_token = ?",
        )
        .run(decoded.rowId, queue.id, decoded.token), "relaxed");
    if (Number(result.changes) > 0) return "ok";
    const exists = this.#db.prepare(
      "SELECT 1 AS x FROM messages WHERE id = ? AND queue_id = ?",
    ).get(decoded.rowId, queue.id);
    return exists ? "stale" : "ok";
  }

  /**
   * Sets the visibility of the message the handle was last issued for to
   * now + `seconds`. Returns "stale" when the message was deleted or
   * received again since.
   */
  changeVisibility(
    queue: Queue,
    handle: string,
    seconds: number,
    now: number,
  ): HandleOutcome {
    const decoded = decodeHandle(handle);
    if (!decoded || decoded.queueId !== queue.id) return "invalid";
    const result = transaction(
      this.#db,
      () =>
        this.#db
          .prepare(
            "UPDATE messages SET visible_at_ms = ? WHERE id = ? AND queue_id = ? AND receipt_token = ?",
          )
          .run(now + seconds * 1000, decoded.rowId, queue.id, decoded.token),
      "relaxed",
    );
    return Number(result.changes) > 0 ? "ok" : "stale";
  }

  /** Deletes messages older than each queue's MessageRetentionPeriod; returns how many. */
  expireMessages(now: number): number {
    let removed = 0;
    const remove = this.#db.prepare(
      "DELETE FROM messages WHERE queue_id = ? AND sent_ms < ?",
    );
    for (const queue of this.#queues.values()) {
      const retentionMs = Number(
        queue.attributes.MessageRetentionPeriod ??
          QUEUE_ATTRIBUTE_DEFAULTS.MessageRetentionPeriod,
      ) * 1000;
      removed += Number(remove.run(queue.id, now - retentionMs).changes);
    }
    return removed;
  }

  /** Returns the source queues whose RedrivePolicy targets this queue. */
  deadLetterSources(queue: Queue): string[] {
    const arn = queueArn(queue.region, queue.name);
    return this.names().filter((name) => {
      const policy = this.#redrivePolicy(this.#queues.get(name)!);
      return policy !== undefined &&
        queueNameFromArn(policy.deadLetterTargetArn) === queueNameFromArn(arn);
    });
  }

  #redrivePolicy(queue: Queue): RedrivePolicy | undefined {
    const raw = queue.attributes.RedrivePolicy;
    return raw ? (JSON.parse(raw) as RedrivePolicy) : undefined;
  }
}

function rowToQueue(row: Record<string, unknown>): Queue {
  return {
    id: Number(row.id),
    name: String(row.name),
    region: String(row.region),
    attributes: JSON.parse(String(row.attributes)),
    tags: JSON.parse(String(row.tags)),
    createdMs: Number(row.created_ms),
    modifiedMs: Number(row.modified_ms),
    purgedMs: Number(row.purged_ms),
  };
}
