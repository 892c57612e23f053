import { openedWidth } from "../algorithms/sum-plan.ts";
import type { QueryPlan, Statistic } from "./query-plan.ts";

// How many ring values a plan opens: what the buyer decodes, what the hosts
// check their output against and what bounds the on-chain result's length.
// Planning and decoding need it without the protocols that run a plan.

/**
 * Number of ring values a query plan opens: per statistic and group, 1 for a
 * count, 1 or 2 for a sum (ring or widened), a count per bucket, 2 for an
 * order statistic (value, count).
 *
 * @example
 * queryOpenedCount(plan) // 3
 */
export function queryOpenedCount(plan: QueryPlan): number {
  return plan.statistics.reduce((n, s) => n + plan.groups * perGroup(s), 0);
}

function perGroup(s: Statistic): number {
  switch (s.kind) {
    case "count":
      return 1;
    case "sum":
      return openedWidth(s.sums[0]);
    case "buckets":
      return s.edges.length + 1;
    case "select":
      return 2;
  }
}
