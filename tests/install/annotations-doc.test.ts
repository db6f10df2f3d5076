import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANNOTATIONS } from "../../shared/annotations.ts";
import { ANNOTATIONS_DOC_PATH, renderAnnotationsDoc } from "../../scripts/gen-annotations-doc.ts";
import { REPO_ROOT } from "./kustomize-build.ts";

describe("annotations reference", () => {
  it("matches the committed doc", () => {
    const committed = readFileSync(join(REPO_ROOT, ANNOTATIONS_DOC_PATH), "utf8");
    // On failure, regenerate with scripts/gen-annotations-doc.ts.
    expect(committed).toBe(renderAnnotationsDoc());
  });

  it("has one row per annotation key", () => {
    const doc = renderAnnotationsDoc();
    for (const spec of ANNOTATIONS) {
      const rows = doc.split("\n").filter((line) => line.startsWith(`| \`${spec.key}\` |`));
      expect(rows, spec.key).toHaveLength(1);
    }
  });

  it("shows defaults and their source", () => {
    const doc = renderAnnotationsDoc();
    expect(doc).toContain("| `asya.sh/timeout` | `5m` |");
    expect(doc).toContain("| `asya.sh/claim-check-threshold` | `256Ki` (the webhook's ASYA_CLAIM_CHECK_THRESHOLD, 256Ki unless set) |");
  });

  it("escapes pipes and line breaks in cells", () => {
    const doc = renderAnnotationsDoc([
      { key: "asya.sh/x", default: "a|b", defaultSource: "a|b", accepted: "one\n  or two", meaning: "m" },
    ]);
    expect(doc).toContain("| `asya.sh/x` | `a\\|b` | one or two | m |");
  });
});
