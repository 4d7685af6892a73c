// Timestamped lines on stdout/stderr: what people running the server read.

/** The server's logger. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, err?: unknown): void;
}

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}

/** Logs to the console; `quiet` keeps only errors (tests). */
export function consoleLogger(quiet = false): Logger {
  return {
    info: (m) => {
      if (!quiet) console.log(`${stamp()} ${m}`);
    },
    warn: (m) => {
      if (!quiet) console.warn(`${stamp()} ${m}`);
    },
    error: (m, err) => console.error(`${stamp()} ${m}`, err ?? ''),
  };
}
