/**
 * What one GraphQL operation may ask for, checked while it is validated, so
 * nothing over a limit is planned or reaches a database: depth and aliases by
 * graphql-armor's rules, root fields and an estimated cost by the rule below.
 * Every refusal is a GraphQL error naming the limit, its setting and the
 * value found (extensions.code OPERATION_LIMIT).
 *
 * The cost is written here because graphql-armor's cost rule ignores
 * arguments, and what makes a request expensive is the page size of its
 * lists: each field costs 1, and what is selected under a connection's
 * `nodes`/`edges` costs once per row of the page (`first`/`last`, the default
 * page size when neither is given, the maximum page size when a variable
 * sets it, since validation does not see variables). Nested lists multiply.
 */
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  getNamedType,
  isObjectType,
  type ASTVisitor,
  type FieldNode,
  type GraphQLObjectType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "postgraphile/graphql";
import type {} from "postgraphile";
import type {} from "postgraphile/grafserv";
import type { OperationLimits } from "../../config.ts";

function limitError(message: string, setting: string, limit: number, found: number): GraphQLError {
  return new GraphQLError(`${message} (${setting})`, { extensions: { code: "OPERATION_LIMIT", limit: setting, max: limit, found } });
}

/** graphql-armor's rules report through a callback, so a refusal is a validation error rather than a throw. */
function armored(setting: string, limit: number): { exposeLimits: true; propagateOnRejection: false; onReject: Array<(context: ValidationContext | null, error: GraphQLError) => void> } {
  return {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context, error) => {
        const found = Number(/found (\d+)/.exec(error.message)?.[1] ?? NaN);
        context?.reportError(limitError(error.message.replace(/^Syntax Error: /, "").replace(/\.$/, ""), setting, limit, found));
      },
    ],
  };
}

export function operationLimitRules(limits: OperationLimits): ValidationRule[] {
  return [
    maxDepthRule({ n: limits.depth, ...armored("API_MAX_DEPTH", limits.depth) }) as unknown as ValidationRule,
    maxAliasesRule({ n: limits.aliases, ...armored("API_MAX_ALIASES", limits.aliases) }) as unknown as ValidationRule,
    costRule(limits),
  ];
}

function costRule(limits: OperationLimits): ValidationRule {
  return (context): ASTVisitor => ({
    OperationDefinition(operation: OperationDefinitionNode) {
      const rootType = context.getSchema().getRootType(operation.operation);
      if (!rootType) return;
      const rootFields = countFields(context, operation.selectionSet, new Set());
      if (rootFields > limits.rootFields) {
        context.reportError(limitError(`The operation has ${rootFields} root fields, more than the limit of ${limits.rootFields}`, "API_MAX_ROOT_FIELDS", limits.rootFields, rootFields));
      }
      const cost = selectionCost(context, rootType, operation.selectionSet, limits, new Set());
      if (cost > limits.cost) {
        context.reportError(limitError(`The operation's estimated cost is ${cost}, more than the limit of ${limits.cost}`, "API_MAX_COST", limits.cost, cost));
      }
    },
  });
}

/** Fields directly in a selection set, through fragments. */
function countFields(context: ValidationContext, selectionSet: SelectionSetNode, seen: Set<string>): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (!selection.name.value.startsWith("__")) count += 1;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += countFields(context, selection.selectionSet, seen);
    } else if (!seen.has(selection.name.value)) {
      const fragment = context.getFragment(selection.name.value);
      if (fragment) count += countFields(context, fragment.selectionSet, new Set([...seen, selection.name.value]));
    }
  }
  return count;
}

function selectionCost(context: ValidationContext, parentType: GraphQLObjectType, selectionSet: SelectionSetNode, limits: OperationLimits, seen: Set<string>, rows = 1): number {
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      cost += fieldCost(context, parentType, selection, limits, seen) * rows;
    } else {
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : seen.has(selection.name.value) ? undefined : context.getFragment(selection.name.value);
      if (!fragment) continue;
      const typeName = fragment.typeCondition?.name.value;
      const type = typeName ? context.getSchema().getType(typeName) : parentType;
      const next = selection.kind === Kind.FRAGMENT_SPREAD ? new Set([...seen, selection.name.value]) : seen;
      if (isObjectType(type)) cost += selectionCost(context, type, fragment.selectionSet, limits, next, rows);
    }
  }
  return cost;
}

function fieldCost(context: ValidationContext, parentType: GraphQLObjectType, field: FieldNode, limits: OperationLimits, seen: Set<string>): number {
  if (field.name.value.startsWith("__")) return 0; // introspection is governed by API_INTROSPECTION
  const definition = parentType.getFields()[field.name.value];
  if (!definition || !field.selectionSet) return 1;
  const type = getNamedType(definition.type);
  if (!isObjectType(type)) return 1;
  const paginated = definition.args.some((a) => a.name === "first");
  if (!paginated) return 1 + selectionCost(context, type, field.selectionSet, limits, seen);
  const rows = pageSize(field, limits);
  // Under a connection, `nodes` and `edges` repeat once per row; totalCount and pageInfo do not.
  let cost = 1;
  for (const selection of field.selectionSet.selections) {
    const repeated = selection.kind === Kind.FIELD && (selection.name.value === "nodes" || selection.name.value === "edges");
    cost += selectionCost(context, type, { kind: Kind.SELECTION_SET, selections: [selection] }, limits, seen, repeated ? rows : 1);
  }
  return cost;
}

/** The rows a connection field may return, as far as validation can tell. */
function pageSize(field: FieldNode, limits: OperationLimits): number {
  const sizes = (field.arguments ?? [])
    .filter((a) => a.name.value === "first" || a.name.value === "last")
    .map((a) => (a.value.kind === Kind.INT ? Number(a.value.value) : a.value.kind === Kind.NULL ? null : limits.maxPageSize));
  const given = sizes.filter((n): n is number => n !== null);
  // An out-of-range size is refused when the field runs (page-size.ts); cost counts what may come back.
  return given.length ? Math.min(Math.max(...given), limits.maxPageSize) : limits.defaultPageSize;
}

/**
 * Adds the rules to grafserv's validation (its `setPreset` middleware hands
 * over the validation rules every request is checked with), and, when
 * introspection is off (API_INTROSPECTION; off in production by default),
 * graphql's rule refusing `__schema` and `__type`.
 */
export function operationLimitsPlugin(limits: OperationLimits, introspection: boolean): GraphileConfig.Plugin {
  return {
    name: "AlwrityOperationLimitsPlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        setPreset(next, event) {
          event.validationRules.push(...operationLimitRules(limits), ...(introspection ? [] : [NoSchemaIntrospectionCustomRule]));
          return next();
        },
      },
    },
  };
}
