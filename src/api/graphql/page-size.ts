/**
 * Every connection returns a bounded page: API_DEFAULT_PAGE_SIZE rows when
 * neither `first` nor `last` is given, and a `first`/`last` above
 * API_MAX_PAGE_SIZE (or below 0) is refused with an error naming the limit,
 * never silently cut. An `offset` above API_MAX_OFFSET is refused too: the
 * database reads and throws away every skipped row, so a deep offset costs
 * as much as the rows before it. Keyset pagination (`after`/`before` with
 * cursors) is untouched: it is how a client walks a large list, each page
 * starting from its cursor in the index.
 *
 * PostGraphile applies `first` and `last` to the connection separately; the
 * default depends on both, so this plugin sets `first` from the field's plan
 * (where both arguments are visible) and leaves `last` to its own argument.
 */
import type {} from "postgraphile";
import { lambda, SafeError, type ExecutableStep, type FieldArgs } from "postgraphile/grafast";
import type { OperationLimits } from "../../config.ts";

type PageLimits = Pick<OperationLimits, "defaultPageSize" | "maxPageSize" | "maxOffset">;
type PaginatedStep = ExecutableStep & { setFirst(step: ExecutableStep): void; setLast(step: ExecutableStep): void; setOffset(step: ExecutableStep): void };

/** The page size a client asked for, checked against API_MAX_PAGE_SIZE. */
function checkedPageSize(value: unknown, argument: "first" | "last", limits: PageLimits): number | null {
  if (value == null) return null;
  const n = Number(value);
  if (n < 0) throw pageSizeError(`\`${argument}\` must not be negative (got ${n})`);
  if (n > limits.maxPageSize) throw pageSizeError(`\`${argument}\` is ${n}, above the maximum page size of ${limits.maxPageSize} (API_MAX_PAGE_SIZE); page with cursors (after/before) instead`, "API_MAX_PAGE_SIZE");
  return n;
}

/** The offset a client asked for, checked against API_MAX_OFFSET. */
function checkedOffset(value: unknown, limits: PageLimits): number | null {
  if (value == null) return null;
  const n = Number(value);
  if (n < 0) throw pageSizeError(`\`offset\` must not be negative (got ${n})`);
  if (n > limits.maxOffset) throw pageSizeError(`\`offset\` is ${n}, above the maximum offset of ${limits.maxOffset} (API_MAX_OFFSET); page with cursors (after/before) instead`, "API_MAX_OFFSET");
  return n;
}

/** A client's page size is out of bounds: a SafeError, shown to clients as it is; `limit`: the setting it is over. */
function pageSizeError(message: string, limit?: string): SafeError {
  return new SafeError(message, { code: "PAGE_SIZE_LIMIT", ...(limit ? { limit } : {}) });
}

export function pageSizePlugin(limits: PageLimits): GraphileConfig.Plugin {
  return {
    name: "AlwrityPageSizePlugin",
    version: "1.0.0",
    schema: {
      hooks: {
        // The arguments are added after the field itself (PgFirstLastBeforeAfterArgsPlugin):
        // `first` is set by the field's plan below instead, `last` is checked where it is applied.
        GraphQLObjectType_fields_field_args(args, _build, context) {
          const scope = context.scope as { isPgFieldConnection?: boolean };
          if (!scope.isPgFieldConnection || !args.first?.applyPlan) return args;
          return {
            ...args,
            first: { ...args.first, applyPlan: () => undefined },
            ...(args.offset?.applyPlan
              ? {
                  offset: {
                    ...args.offset,
                    applyPlan: (_: unknown, $connection: PaginatedStep, arg: { getRaw(): ExecutableStep }) => {
                      $connection.setOffset(lambda(arg.getRaw(), (offset) => checkedOffset(offset, limits)));
                    },
                  },
                }
              : null),
            ...(args.last?.applyPlan
              ? {
                  last: {
                    ...args.last,
                    applyPlan: (_: unknown, $connection: PaginatedStep, arg: { getRaw(): ExecutableStep }) => {
                      $connection.setLast(lambda(arg.getRaw(), (last) => checkedPageSize(last, "last", limits)));
                    },
                  },
                }
              : null),
          } as typeof args;
        },
        GraphQLObjectType_fields_field(field, _build, context) {
          const scope = context.scope as { isPgFieldConnection?: boolean };
          const plan = field.plan;
          if (!scope.isPgFieldConnection || !plan) return field;
          return {
            ...field,
            plan(...planArgs: Parameters<typeof plan>) {
              const $connection = plan(...planArgs) as PaginatedStep;
              const info = planArgs[2] as { field: { args: ReadonlyArray<{ name: string }> } };
              const names = new Set(info.field.args.map((a) => a.name));
              if (!names.has("first")) return $connection;
              const fieldArgs = planArgs[1] as FieldArgs;
              const backwards = names.has("last");
              const $first = fieldArgs.getRaw("first");
              const $last = backwards ? fieldArgs.getRaw("last") : $first;
              $connection.setFirst(
                lambda([$first, $last], ([first, last]) => {
                  const asked = checkedPageSize(first, "first", limits);
                  return asked ?? (backwards && last != null ? null : limits.defaultPageSize);
                }),
              );
              return $connection;
            },
          };
        },
      },
    },
  };
}
