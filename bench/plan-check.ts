/**
 * Reads an EXPLAIN (FORMAT JSON, VERBOSE) plan for the two properties the
 * isolation design relies on: user-data tables are reached through an index
 * (a sequential scan means every tenant's rows are read to find one tenant's),
 * and the policies' user id comes from an InitPlan (evaluated once per
 * statement, not once per row).
 */

interface PlanNode {
  "Node Type": string;
  "Parent Relationship"?: string;
  "Relation Name"?: string;
  Schema?: string;
  "Index Name"?: string;
  Output?: string[];
  Plans?: PlanNode[];
}

export interface PlanFindings {
  seqScans: string[];
  indexes: string[];
  userIdInitPlan: boolean;
  perRowSubPlans: number;
}

export function readPlan(explainJson: unknown, schema: string): PlanFindings {
  const root = (explainJson as Array<{ Plan: PlanNode }>)[0]!.Plan;
  const findings: PlanFindings = { seqScans: [], indexes: [], userIdInitPlan: false, perRowSubPlans: 0 };
  const visit = (node: PlanNode) => {
    if (node["Node Type"] === "Seq Scan" && node.Schema === schema) findings.seqScans.push(`${node.Schema}.${node["Relation Name"]}`);
    if (node["Index Name"]) findings.indexes.push(node["Index Name"]);
    // current_user_id() is inlined, so the InitPlan shows either its name or its body.
    const readsUserId = (o: string) => o.includes("current_user_id()") || o.includes("current_setting('app.current_user_id'");
    if (node["Parent Relationship"] === "InitPlan" && node.Output?.some(readsUserId)) {
      findings.userIdInitPlan = true;
    }
    if (node["Parent Relationship"] === "SubPlan") findings.perRowSubPlans++;
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(root);
  return findings;
}

/** What is wrong with a plan, as sentences; empty when it is as designed. */
export function planProblems(findings: PlanFindings, expectInitPlan: boolean): string[] {
  const problems: string[] = [];
  if (findings.seqScans.length) problems.push(`sequential scan on ${findings.seqScans.join(", ")}`);
  if (findings.indexes.length === 0) problems.push("no index used");
  if (expectInitPlan && !findings.userIdInitPlan) problems.push("current_user_id() is not evaluated once in an InitPlan");
  if (findings.perRowSubPlans) problems.push(`${findings.perRowSubPlans} per-row SubPlan(s)`);
  return problems;
}
