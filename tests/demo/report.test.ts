import { describe, expect, it } from "vitest";
import { accountFor, buildReport, type SentInput, type StoredEnvelope } from "../../scripts/demo/report.ts";
import { renderReport } from "../../scripts/demo/render.ts";

const BOOK: SentInput = {
  id: "r-01-tiny",
  name: "tiny",
  file: "books/tiny.txt",
  kind: "book",
  bytes: 300_000,
  claimCheck: { uri: "s3://asya-demo/claims/demo/abc", bytes: 300_050, sha256: "abc" },
};
const BROKEN: SentInput = { id: "r-02-bad", name: "bad.gz", file: "bad.gz", kind: "broken", bytes: 20 };

function chapter(id: string, chapter: number, prev: string[], extra: Record<string, unknown> = {}): StoredEnvelope {
  return {
    uri: `s3://asya-demo/results/demo/${id}.json`,
    folder: "results",
    document: {
      id,
      ...(id === BOOK.id ? {} : { parent_id: BOOK.id }),
      route: { prev, curr: "", next: [] },
      payload: {
        book: "tiny",
        chapter,
        chapters: 3,
        title: `Chapter ${chapter}`,
        words: 100 * chapter,
        keywords: [{ term: "whale", score: 0.5 }, { term: `term${chapter}`, score: 0.1 * chapter }],
        sentiment: { score: 0, positive: chapter, negative: 1 },
        reading_level: { flesch_kincaid_grade: chapter * 2, flesch_reading_ease: 50 },
        ...extra,
      },
    },
  };
}

const BROKEN_FAILURE: StoredEnvelope = {
  uri: "s3://asya-demo/errors/demo/r-02-bad.json",
  folder: "errors",
  document: {
    id: BROKEN.id,
    route: { prev: [], curr: "split", next: ["router", "analyze"] },
    status: { phase: "failed", actor: "split", reason: "ProcessingError", error: { message: "not UTF-8 text" } },
    payload: { book: "bad.gz", data: "H4sI" },
  },
};

describe("accountFor", () => {
  it("is incomplete before anything is stored", () => {
    const accounting = accountFor([BOOK, BROKEN], []);
    expect(accounting.complete).toBe(false);
    expect(accounting.inputs.map((account) => account.missingIds)).toEqual([[BOOK.id], [BROKEN.id]]);
    expect(accounting.inputs[0].expected).toBeUndefined();
  });

  it("lists missing chapters by id", () => {
    const accounting = accountFor([BOOK], [chapter("r-01-tiny-1", 2, ["split", "router", "analyze"])]);
    expect(accounting.inputs[0].expected).toBe(3);
    expect(accounting.inputs[0].missingIds).toEqual(["r-01-tiny", "r-01-tiny-2"]);
    expect(accounting.complete).toBe(false);
  });

  it("counts a failure at the first actor as the whole input", () => {
    const accounting = accountFor([BROKEN], [BROKEN_FAILURE]);
    expect(accounting.inputs[0].expected).toBe(1);
    expect(accounting.complete).toBe(true);
  });

  it("keeps envelopes of other runs apart", () => {
    const stray = { ...BROKEN_FAILURE, document: { ...BROKEN_FAILURE.document, id: "other" } };
    expect(accountFor([BROKEN], [stray]).unmatched).toEqual([stray]);
  });
});

describe("buildReport", () => {
  const stored = [
    chapter("r-01-tiny", 1, ["split", "router", "analyze"]),
    chapter("r-01-tiny-1", 2, ["split", "router", "summarize", "analyze"], { summary: ["A."] }),
    chapter("r-01-tiny-2", 3, ["split", "router", "analyze"]),
    BROKEN_FAILURE,
  ];
  const report = buildReport({
    runId: "r",
    namespace: "demo",
    bucket: "asya-demo",
    accounting: accountFor([BOOK, BROKEN], stored),
    counters: new Map([["split", {
      received: 2,
      succeeded: 1,
      failed: 1,
      handlerCalls: 2,
      handlerSeconds: 0.5,
      claimCheckBytesDownloaded: 300_050,
      claimCheckBytesUploaded: 0,
    }]]),
    processing: new Map([["split", { count: 2, meanMs: 300, maxMs: 400 }]]),
    hops: [
      { from: "router", to: "analyze", count: 2, meanMs: 5, maxMs: 6 },
      { from: "split", to: "router", count: 3, meanMs: 10, maxMs: 20 },
    ],
    elapsedSeconds: 4.26,
    actorOrder: ["split", "router", "summarize", "analyze", "x-sink", "x-sump"],
  });

  it("summarizes each book", () => {
    expect(report.books).toHaveLength(1);
    const [book] = report.books;
    expect(book.chapters).toBe(3);
    expect(book.results).toBe(3);
    expect(book.summarized).toBe(1);
    expect(book.keywords[0]).toEqual({ term: "whale", score: 1.5 });
    expect(book.keywords[1]).toEqual({ term: "term3", score: 0.3 });
    // positive 1 + 2 + 3 = 6, negative 3: (6 - 3) / 9.
    expect(book.sentiment).toEqual({ score: 0.333, positive: 6, negative: 3 });
    // Grades 2, 4, 6 weighted by 100, 200, 300 words: 2800 / 600.
    expect(book.reading_grade).toBe(4.7);
    expect(book.claim_check).toEqual(BOOK.claimCheck);
    expect(book.results_location).toBe("s3://asya-demo/results/demo/r-01-tiny.json (and r-01-tiny-N.json)");
    expect(book.chapter_results.map((item) => item.chapter)).toEqual([1, 2, 3]);
  });

  it("marks the broken input as an expected failure", () => {
    expect(report.failures).toEqual([{
      envelope_id: BROKEN.id,
      input: "bad.gz",
      actor: "split",
      reason: "ProcessingError",
      message: "not UTF-8 text",
      expected: true,
      stored_at: "s3://asya-demo/errors/demo/r-02-bad.json",
    }]);
  });

  it("adds up the totals", () => {
    expect(report.totals).toEqual({
      inputs: 2,
      books: 1,
      chapters: 3,
      summarized: 1,
      claim_checks: 1,
      sink: 3,
      sump: 1,
      lost: 0,
      unexpected_failures: 0,
      elapsed_seconds: 4.3,
    });
  });

  it("orders actors and hops along the pipeline", () => {
    expect(report.actors.map((actor) => actor.actor)).toEqual([
      "split",
      "router",
      "summarize",
      "analyze",
      "x-sink",
      "x-sump",
    ]);
    expect(report.actors[0]).toMatchObject({ handler_calls: 2, handler_ms_mean: 250, processing_ms_mean: 300 });
    expect(report.actors[1].handler_ms_mean).toBeNull();
    expect(report.hops.map((hop) => `${hop.from}>${hop.to}`)).toEqual(["split>router", "router>analyze"]);
  });

  it("renders as text", () => {
    const text = renderReport(report);
    expect(text).toContain("Book insights: 1 book, 3 chapters (1 summarized) in 4.3 s");
    expect(text).toContain("Envelopes: x-sink 3, x-sump 1, lost 0");
    expect(text).toContain("tiny: 3/3 chapters, 1 summarized, sentiment +0.333, reading grade 4.7");
    expect(text).toContain("bad.gz [expected]: ProcessingError at split: not UTF-8 text");
    expect(text).toMatch(/split -> router\s+3\s+10 ms\s+20 ms/);
  });
});
