/**
 * The migration lint's own checks, for unsafe forms squawk lets through or cannot
 * judge (src/tooling/migration-lint.ts runs them beside squawk):
 *
 * - adding-serial-column: `add column … serial` (any serial type) on a table this
 *   migration did not create. Its default is nextval(), which is volatile, so
 *   PostgreSQL writes every row again under an ACCESS EXCLUSIVE lock; squawk flags
 *   identity columns and volatile defaults, but takes a serial for a type question.
 * - set-not-null-without-validated-check: `alter column … set not null` with no
 *   validated `check (<column> is not null)` on that table before it, in this
 *   migration or an earlier one of the same database. With one, PostgreSQL trusts
 *   the constraint and skips the scan that holds ACCESS EXCLUSIVE; without one every
 *   read and write waits for the whole table to be read. squawk's rule for this
 *   (adding-not-nullable-field, off in .squawk.toml) refuses the safe form too.
 *
 * - concurrently-in-transaction: CREATE/DROP INDEX CONCURRENTLY in a migration
 *   without `--! no-transaction`; PostgreSQL refuses it there, so the deploy would
 *   stop at it (squawk only asks for IF NOT EXISTS).
 *
 * Statements are found by pattern, not parsed: the forms named here are those the
 * docs prescribe (docs/migrations.md, "Changing a column the API exposes"). A
 * finding is excused like squawk's: `-- squawk-ignore <rule>` on the line above,
 * with a `-- reason:` line above that.
 */

export interface CheckFinding {
  readonly rule: string;
  /** 1-based line of the statement. */
  readonly line: number;
  readonly message: string;
}

export const OWN_RULES = {
  "adding-serial-column":
    "A serial column's default is nextval(), which is volatile: adding it rewrites the whole table under an ACCESS EXCLUSIVE lock. Add a nullable column, fill it in batches, then set its default.",
  "set-not-null-without-validated-check":
    "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK (column IS NOT NULL) proves it first: add that check NOT VALID in one migration, VALIDATE it in a later one, then SET NOT NULL.",
  "concurrently-in-transaction":
    "CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction: start the migration with --! no-transaction and hold nothing else in it.",
} as const;

/** Comments blanked out (lengths kept, so positions still give line numbers). */
function blankComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, (c) => " ".repeat(c.length));
}

const name = (text: string) => text.replace(/"/g, "").toLowerCase();
const table = (text: string) => {
  const n = name(text);
  return n.includes(".") ? n : `public.${n}`;
};

interface Statement {
  readonly table: string;
  readonly body: string;
  readonly index: number;
  readonly end: number;
}

function alterTables(sql: string): Statement[] {
  const out: Statement[] = [];
  for (const m of sql.matchAll(/\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?([\w."]+)([^;]*)/gi)) {
    out.push({ table: table(m[1]!), body: m[2]!, index: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** Tables and columns with a validated `check (col is not null)` in `sql`, given the constraints `known` from before. */
function notNullChecks(sql: string, known: Map<string, { table: string; column: string }>, validated: Set<string>): void {
  for (const s of alterTables(sql)) {
    for (const c of s.body.matchAll(/\badd\s+constraint\s+([\w"]+)\s+check\s*\(\s*\(?\s*([\w"]+)\s+is\s+not\s+null\s*\)?\s*\)(\s+not\s+valid)?/gi)) {
      known.set(`${s.table} ${name(c[1]!)}`, { table: s.table, column: name(c[2]!) });
      if (!c[3]) validated.add(`${s.table} ${name(c[2]!)}`);
    }
    for (const v of s.body.matchAll(/\bvalidate\s+constraint\s+([\w"]+)/gi)) {
      const k = known.get(`${s.table} ${name(v[1]!)}`);
      if (k) validated.add(`${k.table} ${k.column}`);
    }
  }
}

function excused(lines: readonly string[], line: number, rule: string): boolean {
  const above = lines[line - 2] ?? "";
  return new RegExp(`^\\s*--\\s*squawk-ignore\\b.*\\b${rule}\\b`).test(above);
}

/**
 * Our checks on one migration's text. `earlier`: the texts of the same database's
 * migrations before it, in order (a check validated there counts).
 */
export function checkMigration(sql: string, earlier: readonly string[] = []): CheckFinding[] {
  const known = new Map<string, { table: string; column: string }>();
  const validated = new Set<string>();
  for (const text of earlier) notNullChecks(blankComments(text), known, validated);
  const text = blankComments(sql);
  const lines = sql.split("\n");
  const lineOf = (index: number) => text.slice(0, index).split("\n").length;
  const created = new Set([...text.matchAll(/\bcreate\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([\w."]+)/gi)].map((m) => table(m[1]!)));
  const findings: CheckFinding[] = [];
  const report = (rule: keyof typeof OWN_RULES, index: number) => {
    const line = lineOf(index);
    if (!excused(lines, line, rule)) findings.push({ rule, line, message: OWN_RULES[rule] });
  };
  if (!/^--! no-transaction\b/m.test(sql)) {
    for (const m of text.matchAll(/\b(?:create\s+(?:unique\s+)?index|drop\s+index)\s+concurrently\b/gi)) report("concurrently-in-transaction", m.index);
  }
  for (const s of alterTables(text)) {
    // What this statement and those before it in this migration validated counts for its SET NOT NULL.
    notNullChecks(text.slice(0, s.end), known, validated);
    if (!created.has(s.table) && /\badd\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?[\w"]+\s+(?:small|big)?serial[248]?\b/i.test(s.body)) report("adding-serial-column", s.index);
    for (const n of s.body.matchAll(/\balter\s+(?:column\s+)?([\w"]+)\s+set\s+not\s+null\b/gi)) {
      if (!created.has(s.table) && !validated.has(`${s.table} ${name(n[1]!)}`)) report("set-not-null-without-validated-check", s.index);
    }
  }
  return findings;
}
