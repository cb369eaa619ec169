// Small statistics and formatting helpers shared by the bench and its child clients.

/** Nearest-rank percentile of unsorted samples; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  return {
    n,
    min: n ? Math.min(...samples) : NaN,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: n ? Math.max(...samples) : NaN,
    mean: n ? samples.reduce((a, b) => a + b, 0) / n : NaN,
  };
}

/** Milliseconds for people: µs below 1 ms, s above 10 s. */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "n/a";
  if (v < 1) return `${(v * 1000).toFixed(0)}µs`;
  if (v < 10) return `${v.toFixed(2)}ms`;
  if (v < 10_000) return `${v.toFixed(1)}ms`;
  return `${(v / 1000).toFixed(2)}s`;
}

/** `a / b` as `0.41x`, or n/a. */
export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  const r = ratioNum(a, b);
  return r === null ? "n/a" : `${r.toFixed(2)}x`;
}

export function ratioNum(
  a: number | null | undefined,
  b: number | null | undefined,
): number | null {
  if (a == null || b == null || !(b > 0) || Number.isNaN(a)) return null;
  return Math.round((a / b) * 1000) / 1000;
}

export function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

export function padLeft(s: string, n: number): string {
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

/** A plain text table: first column left-aligned, the others right-aligned. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((row) =>
      row.map((c, i) => (i === 0 ? pad(c, widths[i]!) : padLeft(c, widths[i]!))).join("  "),
    )
    .join("\n");
}

/** The same rows as a markdown table. */
export function mdTable(rows: string[][]): string {
  const [head, ...body] = rows;
  if (!head) return "";
  const line = (r: string[]) => `| ${r.join(" | ")} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? "---" : "---:"))), ...body.map(line)].join(
    "\n",
  );
}
