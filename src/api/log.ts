/** Structured (JSON lines) server-side logging for the API. */
export function logError(message: string, error: unknown, requestId?: string, extra: Record<string, unknown> = {}): void {
  const err = error as { message?: string; code?: string; stack?: string } | undefined;
  process.stderr.write(
    JSON.stringify({
      level: "error",
      time: new Date().toISOString(),
      message,
      requestId,
      error: err?.message ?? String(error),
      code: err?.code,
      stack: err?.stack,
      ...extra,
    }) + "\n",
  );
}
