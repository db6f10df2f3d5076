// The images cannot be built here (no Docker engine), so these tests read
// the Dockerfiles and check that what they copy and compile exists.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { copies, parseDockerfile, type Stage } from "./dockerfile.ts";
import { REPO_ROOT } from "./kustomize-build.ts";
import { DENO } from "../webhook/deno-process.ts";

const DENO_VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8"))
  .packages["node_modules/deno"].version;
const DENO_TASKS: Record<string, string> = JSON.parse(readFileSync(join(REPO_ROOT, "deno.json"), "utf8")).tasks;

interface ImageSpec {
  dockerfile: string;
  binary?: string;
  entry?: string;
  task?: string;
}

const IMAGES: ImageSpec[] = [
  { dockerfile: "sidecar/Dockerfile", binary: "/usr/local/bin/asya-sidecar", entry: "sidecar/main.ts", task: "sidecar" },
  { dockerfile: "webhook/Dockerfile", binary: "/usr/local/bin/asya-webhook", entry: "webhook/main.ts", task: "webhook" },
  { dockerfile: "kustomize/overlays/example/Dockerfile" },
];

// Glob support for COPY sources: `*` within one path segment.
function matchSource(source: string): string[] {
  const path = source.replace(/\/$/, "");
  if (!path.includes("*")) return existsSync(join(REPO_ROOT, path)) ? [path] : [];
  const directory = dirname(path);
  const pattern = new RegExp("^" + path.slice(directory.length + 1).replace(/\./g, "\\.").replace(/\*/g, "[^/]*") + "$");
  if (!existsSync(join(REPO_ROOT, directory))) return [];
  return readdirSync(join(REPO_ROOT, directory)).filter((name) => pattern.test(name)).map((name) => `${directory}/${name}`);
}

function compileCommand(stage: Stage): string[] | undefined {
  const run = stage.instructions.find((i) => i.keyword === "RUN" && /\bdeno compile\b/.test(i.args));
  return run?.args.split(/\s+/);
}

function permissionFlags(words: string[]): string[] {
  return words.filter((word) => word.startsWith("--allow-")).sort();
}

describe.each(IMAGES)("$dockerfile", (image) => {
  const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, image.dockerfile), "utf8"));
  const stageNames = new Set(dockerfile.stages.map((stage) => stage.name).filter(Boolean));
  const finalStage = dockerfile.stages[dockerfile.stages.length - 1];

  it("copies only sources that exist in the repository", () => {
    for (const stage of dockerfile.stages) {
      for (const copy of copies(stage)) {
        if (copy.from !== undefined) {
          expect(stageNames.has(copy.from) || copy.from.includes(":"), `COPY --from=${copy.from}`).toBe(true);
          continue;
        }
        for (const source of copy.sources) expect(matchSource(source), `COPY source ${source}`).not.toEqual([]);
      }
    }
  });

  it("runs as a numeric non-root user", () => {
    const users = finalStage.instructions.filter((i) => i.keyword === "USER");
    expect(users).toHaveLength(1);
    const [user, group] = users[0].args.split(":");
    expect(Number(user)).toBeGreaterThan(0);
    if (group !== undefined) expect(Number(group)).toBeGreaterThan(0);
  });

  if (image.entry === undefined) return;

  it("pins the Deno version of package-lock.json", () => {
    expect(dockerfile.args.DENO_VERSION).toBe(DENO_VERSION);
    expect(dockerfile.stages[0].image).toBe(`denoland/deno:bin-${DENO_VERSION}`);
  });

  it("compiles the entry module with the task's permissions", () => {
    const build = dockerfile.stages.find((stage) => compileCommand(stage) !== undefined)!;
    const words = compileCommand(build)!;
    expect(words).toContain(image.entry);
    expect(existsSync(join(REPO_ROOT, image.entry!)), `${image.entry} exists`).toBe(true);
    expect(permissionFlags(words)).toEqual(permissionFlags(DENO_TASKS[image.task!].split(/\s+/)));
    // node_modules must exist before compiling, because deno.json sets nodeModulesDir to manual.
    const npmCi = build.instructions.findIndex((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args));
    const compile = build.instructions.findIndex((i) => i.keyword === "RUN" && /\bdeno compile\b/.test(i.args));
    expect(npmCi).toBeGreaterThanOrEqual(0);
    expect(npmCi).toBeLessThan(compile);
  });

  it("copies every imported local module", () => {
    const build = dockerfile.stages.find((stage) => compileCommand(stage) !== undefined)!;
    const copied = copies(build).filter((c) => c.from === undefined).flatMap((c) => c.sources.map((s) => s.replace(/\/$/, "")));
    const info = JSON.parse(execFileSync(DENO, ["info", "--json", image.entry!], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    }));
    const unresolved = info.modules
      .filter((module: { error?: string }) => module.error !== undefined)
      .map((module: { error: string }) => module.error);
    expect(unresolved).toEqual([]);
    const localModules: string[] = info.modules
      .map((module: { specifier: string }) => module.specifier)
      .filter((specifier: string) => specifier.startsWith("file://"))
      .map((specifier: string) => relative(REPO_ROOT, fileURLToPath(specifier)))
      .filter((path: string) => !path.startsWith("node_modules"));
    expect(localModules).toContain(image.entry);
    const missing = localModules.filter((path) => !copied.some((source) => path === source || path.startsWith(source + "/")));
    expect(missing).toEqual([]);
  });

  it("ships the binary on distroless nonroot", () => {
    expect(finalStage.image).toMatch(/^gcr\.io\/distroless\/cc-debian12:nonroot$/);
    const binaryCopy = copies(finalStage).find((copy) => copy.destination === image.binary);
    expect(binaryCopy?.from).toBeDefined();
    const entrypoint = finalStage.instructions.find((i) => i.keyword === "ENTRYPOINT");
    expect(JSON.parse(entrypoint!.args)).toEqual([image.binary]);
  });
});

describe("sidecar image", () => {
  it("ships the Python runtime where copy-runtime reads it", () => {
    const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, "sidecar/Dockerfile"), "utf8"));
    const finalStage = dockerfile.stages[dockerfile.stages.length - 1];
    expect(copies(finalStage)).toContainEqual({
      from: undefined,
      sources: ["pyworker/asya_runtime.py"],
      destination: "/usr/share/asya/asya_runtime.py",
    });
  });
});

describe("build-images.sh", () => {
  const script = readFileSync(join(REPO_ROOT, "scripts/build-images.sh"), "utf8");

  it("passes a shell syntax check", () => {
    expect(() => execFileSync("bash", ["-n", join(REPO_ROOT, "scripts/build-images.sh")])).not.toThrow();
  });

  it("builds every image Dockerfile", () => {
    const built = [...script.matchAll(/^build_one (\S+) (\S+)$/gm)].map((match) => match[2]);
    expect(built.sort()).toEqual(IMAGES.map((image) => image.dockerfile).sort());
  });
});

describe("parseDockerfile", () => {
  it("joins continuation lines and applies ARG defaults", () => {
    const parsed = parseDockerfile("ARG V=1\nFROM base:${V} AS build\nRUN a \\\n  # note\n  b\nCOPY --from=build /x /y\n");
    expect(parsed.stages[0]).toMatchObject({ image: "base:1", name: "build" });
    expect(parsed.stages[0].instructions[0].args).toBe("a b");
    expect(copies(parsed.stages[0])).toEqual([{ from: "build", sources: ["/x"], destination: "/y" }]);
  });

  it("rejects an instruction before FROM", () => {
    expect(() => parseDockerfile("RUN true\nFROM x\n")).toThrow("expected FROM or ARG first, found RUN on line 1");
  });
});
