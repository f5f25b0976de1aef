/* knapsack.h - the exact solver behind mixed-precision bit allocation: a
 * multiple-choice knapsack. Group i (a layer) has choices j (a format or
 * bit width) of cost c[i][j] (the loss increase measured with layer i alone
 * quantized with choice j), size s[i][j] and, optionally, latency l[i][j];
 * pick one choice per group minimizing the sum of costs subject to
 * sum s <= budget (and sum l <= latency budget). Depends only on the C
 * standard library; knapsack.c describes the algorithm. */
#ifndef QCC_KNAPSACK_H
#define QCC_KNAPSACK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct qcc_knap_choice {
  double cost;     /* >= 0 and finite; 0 is fine */
  int64_t size;    /* >= 0: bytes or bits */
  double latency;  /* >= 0 and finite; read only when a latency budget is given */
} qcc_knap_choice;

typedef struct qcc_knap_group {
  const qcc_knap_choice *choices;
  int n;  /* >= 1 */
} qcc_knap_group;

typedef struct qcc_knap_result {
  int *pick;        /* the pick argument: the choice of each group; all -1 when infeasible */
  double cost;      /* the pick's costs added in group order (0 when infeasible) */
  int64_t size;     /* the pick's total size */
  double latency;   /* the pick's latencies added in group order; 0 without a latency budget */
  bool feasible;    /* pick fits the budget(s); false: none does (when exact) */
  bool exact;       /* the optimum; false only when the state cap forced the fallback */
  int64_t states;   /* partial states generated and tested for dominance, all runs */
} qcc_knap_result;

/* Per-layer state count above which the solver falls back to merging
 * states of similar size (knapsack.c: "Fallback"); with its cost bound the
 * solver keeps thousands, not millions, on 300 layers x 12 formats. */
#define QCC_KNAP_STATE_CAP ((int64_t)1 << 21)

/* The optimum: among the picks whose size sum is <= budget (and latency
 * sum <= latency_budget; latency_budget < 0 means no latency constraint),
 * the least cost, ties broken by smaller size, then smaller latency, then
 * the lexicographically smallest choice indices (group 0 first). pick has n
 * entries (may be NULL when n == 0). n == 0 is the empty pick: feasible,
 * cost 0, when budget >= 0. An infeasible instance is not an error: the
 * result says feasible = false. Returns false only on bad input (no
 * choices, a negative size, a negative or non-finite cost or used latency)
 * or allocation failure, with a message in err (may be NULL). */
bool qcc_knapsack_solve(const qcc_knap_group *groups, int n, int64_t budget, double latency_budget, int *pick,
                        qcc_knap_result *out, char *err, size_t err_cap);

/* The same with another per-layer state cap (tests exercise the fallback
 * with a small one); qcc_knapsack_solve uses QCC_KNAP_STATE_CAP. */
bool qcc_knapsack_solve_capped(const qcc_knap_group *groups, int n, int64_t budget, double latency_budget,
                               int64_t state_cap, int *pick, qcc_knap_result *out, char *err, size_t err_cap);

/* The Pareto frontier of size against cost (latency ignored): for budgets
 * from the least feasible size up to the size of the all-cheapest pick,
 * the optimal cost at each distinct optimal size, sizes increasing and
 * costs strictly decreasing. Writes the first min(count, cap) points and
 * returns count (call with cap = 0 to size the arrays); -1 on bad input or
 * allocation failure. It has no cost bound to prune by: a few hundred
 * layers can have millions of points. *exact (may be NULL) is false when
 * the state cap was hit: then each point is an achievable pick's, not
 * necessarily optimal. */
int qcc_knapsack_frontier(const qcc_knap_group *groups, int n, int64_t *sizes, double *costs, int cap, bool *exact);

#endif
