// Caps on the size of a query. Every host parses the on-chain text and runs
// the plan inside MPC, where each aggregate, bin, comparison and group costs
// rounds and bandwidth; the caps bound that cost before anything is paid.

/** Longest query text, in characters. */
export const MAX_QUERY_LENGTH = 16_384;

/** Most aggregates in one SELECT list. */
export const MAX_AGGREGATES = 16;

/** Most edges of one histogram() (it has one bin more than edges). */
export const MAX_HISTOGRAM_EDGES = 64;

/** Most datasets in FROM (their union is read). */
export const MAX_DATASETS = 20;

/** Most values in one IN list. */
export const MAX_IN_VALUES = 256;

/** Most comparisons (leaves: =, BETWEEN, IN, IS NULL, ...) in WHERE. */
export const MAX_PREDICATE_TERMS = 128;

/** Most groups: the product of the dictionary sizes of the GROUP BY columns (a bool column has 2). */
export const MAX_GROUPS = 256;
