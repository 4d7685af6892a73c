// Timestamped lines on stdout/stderr: what people running the server read. Lines carry text from
// peers (names, Origins, what a camera says it records): control and bidi characters in them are
// escaped, so a name cannot steer the terminal or forge a line.
import { printable } from '../shared/text.ts';

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
      if (!quiet) console.log(`${stamp()} ${printable(m)}`);
    },
    warn: (m) => {
      if (!quiet) console.warn(`${stamp()} ${printable(m)}`);
    },
    error: (m, err) => console.error(`${stamp()} ${printable(m)}`, err ?? ''),
  };
}
