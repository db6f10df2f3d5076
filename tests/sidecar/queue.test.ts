import { describe, expect, it, vi } from "vitest";
import {
  BatchEntryError,
  packSendBatches,
  runBatch,
} from "../../sidecar/queue.ts";

const noWait = () => Promise.resolve();

describe("packSendBatches", () => {
  it("splits at ten entries", () => {
    const batches = packSendBatches(
      Array.from({ length: 23 }, (_, index) => String(index)),
    );
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 3]);
  });

  it("splits by UTF-8 bytes", () => {
    // "é" is 2 bytes in UTF-8 but 1 UTF-16 unit, so 3 bodies of 4 bytes exceed 10 bytes.
    const batches = packSendBatches(["éé", "éé", "éé"], 10);
    expect(batches).toEqual([["éé", "éé"], ["éé"]]);
  });

  it("keeps an oversized body alone", () => {
    expect(packSendBatches(["x".repeat(20), "y"], 10)).toEqual([[
      "x".repeat(20),
    ], ["y"]]);
  });
});

describe("runBatch", () => {
  it("retries only the failed entries", async () => {
    const calls: string[][] = [];
    const call = vi.fn((entries: Array<{ id: string; value: string }>) => {
      calls.push(entries.map((entry) => entry.value));
      return Promise.resolve(
        calls.length === 1
          ? [{
            Id: entries[1].id,
            SenderFault: false,
            Code: "ServiceUnavailable",
          }]
          : [],
      );
    });
    await runBatch("SendMessageBatch", ["a", "b", "c"], call, noWait);
    expect(calls).toEqual([["a", "b", "c"], ["b"]]);
  });

  it("throws on a sender fault without retrying", async () => {
    const call = vi.fn(() =>
      Promise.resolve([{
        Id: "0",
        SenderFault: true,
        Code: "InvalidParameterValue",
        Message: "too big",
      }])
    );
    await expect(runBatch("SendMessageBatch", ["a"], call, noWait)).rejects
      .toThrow(
        "SendMessageBatch failed for 1 entry: InvalidParameterValue (too big)",
      );
    expect(call).toHaveBeenCalledTimes(1);
  });

  it("gives up after repeated failures", async () => {
    const call = vi.fn((entries: Array<{ id: string }>) =>
      Promise.resolve(
        entries.map((entry) => ({
          Id: entry.id,
          SenderFault: false,
          Code: "InternalError",
        })),
      )
    );
    await expect(runBatch("DeleteMessageBatch", ["a", "b"], call, noWait))
      .rejects.toBeInstanceOf(BatchEntryError);
    expect(call).toHaveBeenCalledTimes(5);
  });
});
