/**
 * Structured logging: one JSON object per line, so logs can be searched and
 * aggregated by field. Callers pass facts, never secrets: no passwords, no
 * query parameter values.
 */
export type Logger = (event: string, fields?: Record<string, unknown>) => void;

/** A logger writing JSON lines, to stderr unless told otherwise. */
export function jsonLinesLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  return (event, fields = {}) => write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
}
