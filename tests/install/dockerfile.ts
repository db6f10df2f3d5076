// A small Dockerfile reader for the image tests: enough of the syntax
// (line continuations, comments, ARG defaults, stages, COPY flags) to check
// what the images copy and compile without a Docker engine.

/** One instruction with its arguments, after joining continuation lines. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** One build stage: its base image, optional name and instructions. */
export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** A COPY instruction split into its --from stage, sources and destination. */
export interface Copy {
  from?: string;
  sources: string[];
  destination: string;
}

/** Parsed Dockerfile: global ARG defaults and the stages in order. */
export interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

/** Splits a Dockerfile into stages of instructions. Throws when an instruction other than ARG comes before the first FROM. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending = "";
  let pendingLine = 0;
  text.split("\n").forEach((raw, index) => {
    const trimmed = raw.trim();
    if (pending === "" && (trimmed === "" || trimmed.startsWith("#"))) return;
    if (pending !== "" && trimmed.startsWith("#")) return; // comments may sit inside a continued instruction
    if (pending === "") pendingLine = index + 1;
    if (trimmed.endsWith("\\")) {
      pending += trimmed.slice(0, -1) + " ";
      return;
    }
    const full = (pending + trimmed).trim();
    pending = "";
    const [keyword, ...rest] = full.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(" "), line: pendingLine });
  });

  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const [image, as, name] = instruction.args.split(/\s+/).filter((part) => !part.startsWith("--"));
      stages.push({ image: substitute(image, args), name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== "ARG") {
        throw new Error(`Invalid Dockerfile: expected FROM or ARG first, found ${instruction.keyword} on line ${instruction.line}`);
      }
      const [name, value = ""] = instruction.args.split("=", 2);
      args[name] = value;
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { args, stages };
}

/** Replaces `${NAME}` and `$NAME` with the global ARG defaults. */
export function substitute(text: string, args: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced, bare) => args[braced ?? bare] ?? "");
}

/** Returns the COPY instructions of a stage. */
export function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((instruction) => instruction.keyword === "COPY")
    .map((instruction) => {
      const parts = instruction.args.split(/\s+/);
      const flags = parts.filter((part) => part.startsWith("--"));
      const paths = parts.filter((part) => !part.startsWith("--"));
      const from = flags.find((flag) => flag.startsWith("--from="))?.slice("--from=".length);
      return { from, sources: paths.slice(0, -1), destination: paths[paths.length - 1] };
    });
}
