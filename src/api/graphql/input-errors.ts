/**
 * Database errors caused by what the client sent: SQLSTATE class 22 (data
 * exceptions: a date that does not exist, a number out of range, a NUL byte)
 * and class 23 (integrity constraints: a required value missing, a duplicate, a
 * reference to nothing, a check). Each answers its SQLSTATE as the stable code
 * and a message safe in production: it names the field (a column, in the API's
 * camelCase) or the argument where the error tells which, and never a
 * constraint, a table or a value. docs/errors.md lists them.
 */
import type {} from "postgraphile";
import { Kind, type GraphQLError, type ValueNode } from "postgraphile/graphql";

/** Production messages of the client-input SQLSTATEs the API is known to raise. */
const MESSAGES: Record<string, string> = {
  "22001": "A value is too long",
  "22003": "A number is out of range",
  "22004": "A value may not be null",
  "22007": "A date or time is malformed",
  "22008": "A date or time is out of range (no such date or time)",
  "22012": "A division by zero",
  "22021": "A text value holds a character that cannot be stored (such as a NUL byte)",
  "22023": "A value is not valid",
  "22025": "A text value holds an invalid escape",
  "22P02": "A value is malformed",
  "22P05": "A JSON value holds a character that cannot be stored (such as \\u0000)",
  "2202E": "An array index is out of range",
  "22030": "A JSON value is duplicated where it must be unique",
  "22032": "A JSON value is malformed",
  "23502": "A required value is missing",
  "23503": "A referenced record does not exist or is not yours",
  "23505": "A record with these values already exists",
  "23514": "A value is out of range or malformed",
  "23P01": "A record conflicts with another one",
};

/** Every other SQLSTATE of the two classes: still the client's input, said more generally. */
const CLASS_MESSAGES: Record<string, string> = {
  "22": "A value is not valid",
  "23": "A value breaks a rule of the data",
};

export interface InputError {
  /** The safe message (production). */
  readonly message: string;
  /** The API field (column) the error is about, when the database says which. */
  readonly field?: string;
  /** The GraphQL argument the error is about (a dotted path into an input object): the one holding the value the database quotes, or the field's only argument. */
  readonly argument?: string;
}

/** Whether a SQLSTATE is the client's input: class 22 or 23. */
export function isInputError(code: string | undefined): code is string {
  return code !== undefined && (code.startsWith("22") || code.startsWith("23"));
}

/**
 * The columns of every constraint, by schema.table.constraint: PostgreSQL leaves the key out of a
 * unique or foreign-key violation's detail on a table with row-level security, so the error's
 * constraint name is what tells the column. Filled from PostGraphile's own introspection of each
 * database (constraintColumnsPlugin), before the server listens.
 */
export type ConstraintColumns = Map<string, readonly string[]>;

export function constraintColumnsPlugin(columns: ConstraintColumns): GraphileConfig.Plugin {
  return {
    name: "AlwrityConstraintColumnsPlugin",
    version: "1.0.0",
    gather: {
      hooks: {
        pgIntrospection_constraint(_info, { entity }) {
          const table = entity.getClass();
          const names = (entity.getAttributes() ?? []).flatMap((a) => (a ? [a.attname] : []));
          if (table && names.length) columns.set(`${table.getNamespace()?.nspname}.${table.relname}.${entity.conname}`, names);
        },
      },
    },
  };
}

/** The safe description of a client-input database error, naming what it can. */
export function describeInputError(code: string, original: DatabaseErrorFields, error: GraphQLError, constraints: ConstraintColumns): InputError {
  const base = MESSAGES[code] ?? CLASS_MESSAGES[code.slice(0, 2)]!;
  const field = fieldOf(original, constraints);
  const argument = field ? undefined : argumentOf(error, quotedValue(original));
  const where = field ? ` (field ${field})` : argument ? ` (argument ${argument}${error.path?.length ? ` of ${String(error.path.at(-1))}` : ""})` : "";
  return { message: `${base}${where}`, ...(field ? { field } : {}), ...(argument ? { argument } : {}) };
}

/** What node-postgres carries of a server error that is read here (never its detail, which may hold values). */
export interface DatabaseErrorFields {
  readonly column?: unknown;
  readonly schema?: unknown;
  readonly table?: unknown;
  readonly constraint?: unknown;
  readonly message?: unknown;
}

/** The value a data exception quotes (`date/time field value out of range: "2026-02-30"`), to find the argument that held it. */
function quotedValue({ message }: DatabaseErrorFields): string | undefined {
  return typeof message === "string" ? /"([^"]*)"/.exec(message)?.[1] : undefined;
}

/** user_id is never the client's to give (it defaults to the signed-in user), so it is never named. */
const NOT_THE_CLIENTS = new Set(["user_id"]);

function fieldOf(original: DatabaseErrorFields, constraints: ConstraintColumns): string | undefined {
  const columns = columnsOf(original, constraints).filter((c) => !NOT_THE_CLIENTS.has(c));
  return columns.length > 0 ? columns.map(camelCase).join(", ") : undefined;
}

function columnsOf({ column, schema, table, constraint }: DatabaseErrorFields, constraints: ConstraintColumns): readonly string[] {
  if (typeof column === "string" && column) return [column]; // a not-null violation names it
  // A check, unique, foreign-key or exclusion violation names its constraint.
  return (typeof constraint === "string" && constraints.get(`${String(schema)}.${String(table)}.${constraint}`)) || [];
}

/**
 * The argument of the failing field that the error is about: the one whose literal holds the quoted
 * value (a value given through a variable is not in the document, so it cannot be matched), else the
 * field's only argument; several are not guessed between.
 */
function argumentOf(error: GraphQLError, quoted: string | undefined): string | undefined {
  const node = error.nodes?.[0];
  if (node?.kind !== Kind.FIELD || !node.arguments?.length) return undefined;
  if (quoted !== undefined) {
    for (const argument of node.arguments) {
      const path = pathTo(argument.value, quoted);
      if (path) return [argument.name.value, ...path].join(".");
    }
  }
  return node.arguments.length === 1 ? node.arguments[0]!.name.value : undefined;
}

/** The path inside a literal to the scalar equal to `wanted` ([] for the literal itself), or undefined. */
function pathTo(value: ValueNode, wanted: string): string[] | undefined {
  switch (value.kind) {
    case Kind.STRING:
    case Kind.INT:
    case Kind.FLOAT:
      return value.value === wanted ? [] : undefined;
    case Kind.OBJECT:
      for (const field of value.fields) {
        const inner = pathTo(field.value, wanted);
        if (inner) return [field.name.value, ...inner];
      }
      return undefined;
    case Kind.LIST:
      for (const item of value.values) {
        const inner = pathTo(item, wanted);
        if (inner) return inner;
      }
      return undefined;
    default:
      return undefined;
  }
}

const camelCase = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
