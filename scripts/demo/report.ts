/**
 * Accounting and report of a demo run: which envelope of which input ended
 * where, per-book insights, per-actor and per-hop timings, and totals.
 * Pure: the caller lists and reads S3 and passes the stored documents in.
 */
import type { EnvelopeStatus, PayloadRef, Route } from "../../shared/envelope-types.ts";
import type { HopStats, TimingStats } from "./timeline.ts";

/** One input the demo sent: a book, or the deliberately broken file. */
export interface SentInput {
  /** Envelope id; fan-out children are `{id}-{i}`. */
  id: string;
  /** Book name (file name without `.txt`) or the broken file's name. */
  name: string;
  file: string;
  kind: "book" | "broken";
  /** File size in bytes. */
  bytes: number;
  /** Set when the payload travelled as a claim check. */
  claimCheck?: PayloadRef;
}

/** An envelope as x-sink or x-sump stored it, payload inline. */
export interface StoredDocument {
  id: string;
  parent_id?: string;
  route: Route;
  status?: EnvelopeStatus;
  payload?: unknown;
}

export interface StoredEnvelope {
  /** `s3://bucket/key` of the stored document. */
  uri: string;
  folder: "results" | "errors";
  document: StoredDocument;
}

export interface InputAccount {
  input: SentInput;
  /** Envelopes this input should end as: its chapter count, or 1 when the first actor failed it. Unknown until one arrives. */
  expected?: number;
  results: StoredEnvelope[];
  failures: StoredEnvelope[];
  /** Ids not yet stored by x-sink or x-sump (all of them while `expected` is unknown: the input's own id). */
  missingIds: string[];
}

export interface Accounting {
  inputs: InputAccount[];
  /** Stored envelopes that belong to no input of this run. */
  unmatched: StoredEnvelope[];
  /** True when every input's envelopes are all stored. */
  complete: boolean;
}

/** Matches stored envelopes to the inputs that produced them and lists what is still missing. */
export function accountFor(inputs: SentInput[], stored: StoredEnvelope[]): Accounting {
  const accounts = new Map(inputs.map((input) => [input.id, newAccount(input)]));
  const unmatched: StoredEnvelope[] = [];

  for (const item of stored) {
    const account = accounts.get(item.document.parent_id ?? item.document.id);
    if (account === undefined) {
      unmatched.push(item);
      continue;
    }
    (item.folder === "results" ? account.results : account.failures).push(item);
  }

  for (const account of accounts.values()) {
    account.expected = expectedCount(account);
    const storedIds = new Set([...account.results, ...account.failures].map((item) => item.document.id));
    if (account.expected === undefined) {
      account.missingIds = [account.input.id];
    } else {
      account.missingIds = Array.from({ length: account.expected }, (_, index) => childId(account.input.id, index))
        .filter((id) => !storedIds.has(id));
    }
  }

  const list = [...accounts.values()];
  return { inputs: list, unmatched, complete: list.every((account) => account.missingIds.length === 0) };
}

/** Id of fan-out child `index`: the first keeps the parent id, the others get `{id}-{index}`. */
export function childId(id: string, index: number): string {
  return index === 0 ? id : `${id}-${index}`;
}

function newAccount(input: SentInput): InputAccount {
  return { input, results: [], failures: [], missingIds: [input.id] };
}

function expectedCount(account: InputAccount): number | undefined {
  // Failing at the first actor means the input was never split: it ends as one envelope.
  const wholeFailure = account.failures.find((item) =>
    item.document.id === account.input.id && item.document.route.prev.length === 0
  );
  if (wholeFailure !== undefined) return 1;
  for (const item of [...account.results, ...account.failures]) {
    const chapters = (item.document.payload as { chapters?: unknown } | undefined)?.chapters;
    if (Number.isInteger(chapters) && (chapters as number) > 0) return chapters as number;
  }
  return undefined;
}

export interface Keyword {
  term: string;
  score: number;
}

export interface ChapterReport {
  chapter: number;
  title: string;
  words: number;
  summarized: boolean;
  keywords: string[];
  sentiment: number;
  result: string;
}

export interface BookReport {
  book: string;
  file: string;
  envelope_id: string;
  bytes: number;
  /** The whole-book payload's claim check, or null when it travelled inline. */
  claim_check: PayloadRef | null;
  chapters: number | null;
  results: number;
  failed: number;
  summarized: number;
  /** Terms with the highest TF-IDF scores summed over the chapters. */
  keywords: Keyword[];
  sentiment: { score: number; positive: number; negative: number };
  /** Flesch-Kincaid grade averaged over chapters, weighted by words. */
  reading_grade: number | null;
  /** Location of the chapter results: `s3://bucket/results/{namespace}/{id}.json` and `{id}-{n}.json`. */
  results_location: string | null;
  missing_ids: string[];
  chapter_results: ChapterReport[];
}

export interface FailureReport {
  envelope_id: string;
  input: string | null;
  actor: string | null;
  reason: string | null;
  message: string | null;
  expected: boolean;
  stored_at: string;
}

export interface ActorReport {
  actor: string;
  received: number;
  succeeded: number;
  failed: number;
  handler_calls: number;
  handler_ms_mean: number | null;
  handler_seconds_total: number;
  processing_ms_mean: number | null;
  claim_check_bytes_downloaded: number;
  claim_check_bytes_uploaded: number;
}

export interface HopReport {
  from: string;
  to: string;
  count: number;
  mean_ms: number;
  max_ms: number;
}

export interface DemoReport {
  run_id: string;
  namespace: string;
  bucket: string;
  books: BookReport[];
  failures: FailureReport[];
  actors: ActorReport[];
  hops: HopReport[];
  totals: {
    inputs: number;
    books: number;
    chapters: number;
    summarized: number;
    claim_checks: number;
    sink: number;
    sump: number;
    lost: number;
    unexpected_failures: number;
    elapsed_seconds: number;
  };
  lost_ids: string[];
}

/** Counters an actor's sidecar exposes on /metrics. */
export interface ActorCounters {
  received: number;
  succeeded: number;
  failed: number;
  handlerCalls: number;
  handlerSeconds: number;
  claimCheckBytesDownloaded: number;
  claimCheckBytesUploaded: number;
}

export interface ReportInput {
  runId: string;
  namespace: string;
  bucket: string;
  accounting: Accounting;
  counters: Map<string, ActorCounters>;
  processing: Map<string, TimingStats>;
  hops: HopStats[];
  elapsedSeconds: number;
  /** Actors in pipeline order, end actors last. */
  actorOrder: string[];
}

const TOP_BOOK_KEYWORDS = 8;
const TOP_CHAPTER_KEYWORDS = 3;

/** Builds the report; numbers are rounded for reading, not for further arithmetic. */
export function buildReport(input: ReportInput): DemoReport {
  const { accounting } = input;
  const books = accounting.inputs.filter((account) => account.input.kind === "book").map(bookReport);
  const failures = [
    ...accounting.inputs.flatMap((account) => account.failures.map((item) => failureReport(item, account))),
    ...accounting.unmatched.filter((item) => item.folder === "errors").map((item) => failureReport(item, undefined)),
  ];
  const stored = [
    ...accounting.inputs.flatMap((account) => [...account.results, ...account.failures]),
    ...accounting.unmatched,
  ];
  const lostIds = accounting.inputs.flatMap((account) => account.missingIds);

  return {
    run_id: input.runId,
    namespace: input.namespace,
    bucket: input.bucket,
    books,
    failures,
    actors: input.actorOrder.map((actor) => actorReport(actor, input.counters.get(actor), input.processing.get(actor))),
    hops: sortHops(input.hops, input.actorOrder).map((hop) => ({
      from: hop.from,
      to: hop.to,
      count: hop.count,
      mean_ms: hop.meanMs,
      max_ms: hop.maxMs,
    })),
    totals: {
      inputs: accounting.inputs.length,
      books: books.length,
      chapters: books.reduce((sum, book) => sum + (book.chapters ?? 0), 0),
      summarized: books.reduce((sum, book) => sum + book.summarized, 0),
      claim_checks: accounting.inputs.filter((account) => account.input.claimCheck !== undefined).length,
      sink: stored.filter((item) => item.folder === "results").length,
      sump: stored.filter((item) => item.folder === "errors").length,
      lost: lostIds.length,
      unexpected_failures: failures.filter((failure) => !failure.expected).length,
      elapsed_seconds: round(input.elapsedSeconds, 1),
    },
    lost_ids: lostIds,
  };
}

function bookReport(account: InputAccount): BookReport {
  const chapters = account.results
    .map((item) => ({ item, payload: item.document.payload as ChapterResult }))
    .filter(({ payload }) => payload !== null && typeof payload === "object")
    .sort((a, b) => (a.payload.chapter ?? 0) - (b.payload.chapter ?? 0));

  const keywordTotals = new Map<string, number>();
  let positive = 0;
  let negative = 0;
  let gradeWords = 0;
  let gradeSum = 0;
  for (const { payload } of chapters) {
    for (const keyword of payload.keywords ?? []) {
      keywordTotals.set(keyword.term, (keywordTotals.get(keyword.term) ?? 0) + keyword.score);
    }
    positive += payload.sentiment?.positive ?? 0;
    negative += payload.sentiment?.negative ?? 0;
    const grade = payload.reading_level?.flesch_kincaid_grade;
    if (typeof grade === "number" && typeof payload.words === "number") {
      gradeSum += grade * payload.words;
      gradeWords += payload.words;
    }
  }
  const keywords = [...keywordTotals.entries()]
    .sort(([termA, a], [termB, b]) => b - a || termA.localeCompare(termB))
    .slice(0, TOP_BOOK_KEYWORDS)
    .map(([term, score]) => ({ term, score: round(score, 4) }));

  const first = account.results[0]?.uri;
  return {
    book: account.input.name,
    file: account.input.file,
    envelope_id: account.input.id,
    bytes: account.input.bytes,
    claim_check: account.input.claimCheck ?? null,
    chapters: account.expected ?? null,
    results: account.results.length,
    failed: account.failures.length,
    summarized: chapters.filter(({ item }) => item.document.route.prev.includes("summarize")).length,
    keywords,
    sentiment: {
      score: positive + negative === 0 ? 0 : round((positive - negative) / (positive + negative), 3),
      positive,
      negative,
    },
    reading_grade: gradeWords === 0 ? null : round(gradeSum / gradeWords, 1),
    results_location: first === undefined
      ? null
      : `${first.slice(0, first.lastIndexOf("/") + 1)}${account.input.id}.json (and ${account.input.id}-N.json)`,
    missing_ids: account.missingIds,
    chapter_results: chapters.map(({ item, payload }) => ({
      chapter: payload.chapter ?? 0,
      title: payload.title ?? "",
      words: payload.words ?? 0,
      summarized: item.document.route.prev.includes("summarize"),
      keywords: (payload.keywords ?? []).slice(0, TOP_CHAPTER_KEYWORDS).map((keyword) => keyword.term),
      sentiment: payload.sentiment?.score ?? 0,
      result: item.uri,
    })),
  };
}

/** The analyze actor's result payload, as far as the report reads it. */
interface ChapterResult {
  chapter?: number;
  title?: string;
  words?: number;
  keywords?: Keyword[];
  sentiment?: { score: number; positive: number; negative: number };
  reading_level?: { flesch_kincaid_grade: number | null };
}

function failureReport(item: StoredEnvelope, account: InputAccount | undefined): FailureReport {
  const status = item.document.status ?? {};
  const error = status.error as { message?: unknown } | undefined;
  return {
    envelope_id: item.document.id,
    input: account?.input.name ?? null,
    actor: typeof status.actor === "string" ? status.actor : null,
    reason: typeof status.reason === "string" ? status.reason : null,
    message: typeof error?.message === "string" ? error.message : null,
    expected: account?.input.kind === "broken",
    stored_at: item.uri,
  };
}

function actorReport(
  actor: string,
  counters: ActorCounters | undefined,
  processing: TimingStats | undefined,
): ActorReport {
  const calls = counters?.handlerCalls ?? 0;
  return {
    actor,
    received: counters?.received ?? 0,
    succeeded: counters?.succeeded ?? 0,
    failed: counters?.failed ?? 0,
    handler_calls: calls,
    handler_ms_mean: calls === 0 ? null : round((counters!.handlerSeconds * 1000) / calls, 1),
    handler_seconds_total: round(counters?.handlerSeconds ?? 0, 3),
    processing_ms_mean: processing === undefined || processing.count === 0 ? null : processing.meanMs,
    claim_check_bytes_downloaded: counters?.claimCheckBytesDownloaded ?? 0,
    claim_check_bytes_uploaded: counters?.claimCheckBytesUploaded ?? 0,
  };
}

function sortHops(hops: HopStats[], order: string[]): HopStats[] {
  const rank = (actor: string) => {
    const index = order.indexOf(actor);
    return index === -1 ? order.length : index;
  };
  return [...hops].sort((a, b) => rank(a.from) - rank(b.from) || rank(a.to) - rank(b.to));
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
