import { describe, expect, it } from "vitest";
import { parseFlags } from "../../webhook/main.ts";

describe("parseFlags", () => {
  it("reads --insecure and --listen", () => {
    expect(parseFlags(["--insecure", "--listen", "127.0.0.1:8443"])).toEqual({
      insecure: true,
      listen: { hostname: "127.0.0.1", port: 8443 },
    });
    expect(parseFlags(["--listen=[::1]:9443"])).toEqual({ insecure: false, listen: { hostname: "::1", port: 9443 } });
  });

  it("skips the -- that deno task passes", () => {
    expect(parseFlags(["--", "--insecure", "--listen", "127.0.0.1:8443"])).toEqual({
      insecure: true,
      listen: { hostname: "127.0.0.1", port: 8443 },
    });
    expect(parseFlags(["--"])).toEqual({ insecure: false, listen: undefined });
  });

  it("rejects -- after other flags", () => {
    expect(parseFlags(["--insecure", "--"])).toBe('Unknown argument "--": expected --insecure or --listen HOST:PORT');
  });

  it("rejects an unknown flag", () => {
    expect(parseFlags(["--port", "8443"])).toBe('Unknown argument "--port": expected --insecure or --listen HOST:PORT');
  });

  it("names the port range", () => {
    for (const value of ["127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:65536"]) {
      expect(parseFlags(["--listen", value])).toBe(
        `Invalid --listen: expected HOST:PORT with a port from 1 to 65535, such as 127.0.0.1:8443, found "${value}"`,
      );
    }
  });

  it("rejects --listen without a port", () => {
    expect(parseFlags(["--listen", "localhost"])).toBe(
      'Invalid --listen: expected HOST:PORT with a port from 1 to 65535, such as 127.0.0.1:8443, found "localhost"',
    );
    expect(parseFlags(["--listen"])).toBe(
      'Invalid --listen: expected HOST:PORT with a port from 1 to 65535, such as 127.0.0.1:8443, found ""',
    );
  });

  it("accepts the port range ends", () => {
    expect(parseFlags(["--listen", "127.0.0.1:1"])).toEqual({ insecure: false, listen: { hostname: "127.0.0.1", port: 1 } });
    expect(parseFlags(["--listen", "127.0.0.1:65535"])).toEqual({
      insecure: false,
      listen: { hostname: "127.0.0.1", port: 65_535 },
    });
  });
});
