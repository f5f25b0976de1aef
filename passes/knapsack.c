/* knapsack.c - exact multiple-choice knapsack for mixed-precision bit
 * allocation.
 *
 * Problem. Groups i = 0..n-1 (layers), each with m_i >= 1 choices j
 * (formats, bit widths) of cost c[i][j] >= 0 (the loss increase measured
 * with layer i alone quantized with choice j), size s[i][j] >= 0 (int64)
 * and, optionally, latency l[i][j] >= 0. Pick one choice per group to
 * minimize sum c subject to sum s <= budget (and sum l <= latency budget).
 *
 * Invariant. The result is the exact optimum unless a layer's states
 * outgrew the state cap (then out->exact = false, see Fallback). A pick's
 * cost and latency are its values added in group order, as a caller adding
 * them in order gets them, and its cost is the least of that sum over all
 * feasible picks. Ties go to the smaller size, then the smaller latency,
 * then the lexicographically smallest choices (group 0 first). When the
 * sums are exact (integer or dyadic costs and latencies) that pick is
 * unique, so identical inputs give identical picks on every platform with
 * IEEE doubles (FLT_EVAL_METHOD == 0): rounding in the bound below, FMA
 * contraction included, only changes what gets pruned. With inexact sums
 * the cost is the same everywhere, and the pick can differ only between
 * picks whose costs tie after rounding though a partial sum did not.
 *
 * Algorithm. Dynamic programming over Pareto-optimal partial states: after
 * groups 0..i a state is the (size, latency, cost) of a pick for them. A
 * state >= another in all three is dropped: whatever completes it completes
 * the other at no greater size, latency or cost (rounded addition is
 * monotone), so an optimum survives; on a full tie the lexicographically
 * smaller pick is kept, which makes the tie-break exact. Without a latency
 * budget every latency is 0: the 2-D (size, cost) frontier. Per group:
 * every state x every choice, pruned when the size (latency) so far plus
 * the least the later groups need exceeds the budget, or when a lower bound
 * on the cost of its best completion exceeds a limit (next paragraph); the
 * candidates are sorted by (size, latency, cost, pick) - a merge of one
 * size-sorted run per choice, then a sort of each block of equal size -
 * and one sweep keeps those no earlier kept one dominates, asking a Fenwick
 * tree for the least cost at a latency <= theirs (in 2-D a running
 * minimum). Back-pointers are stored by the state's rank in lexicographic
 * order of its pick: a candidate's pick orders as (parent's rank, choice),
 * so ranking needs no comparison of picks.
 *
 * Cost bound. The Pareto frontier of a few hundred layers holds millions of
 * states, most of which cannot lead to an optimum. With multipliers
 * lambda, mu >= 0, any completion of groups i.. within size room R and
 * latency room T costs at least relaxed_after[i] - lambda R - mu T, where
 * relaxed_after[i] = sum over k >= i of min_j (c + lambda s + mu l) (the
 * Lagrangian relaxation). The multipliers maximize the dual (bisection;
 * with latency, golden-section search over lambda around it); the relaxed
 * pick, repaired and improved by local search, is the incumbent. The DP
 * then runs with limits rising from just above the dual value towards the
 * incumbent's cost (deepening, 4x the gap each time): a run whose best pick
 * costs <= its limit has found the optimum, since every pick of cost <=
 * limit keeps all its states, and the last run, at the incumbent, always
 * finds. The bound has a slack of 8 (n + 4) ulps of its terms' magnitude,
 * so rounding cannot prune an optimum nor an equal-cost tie.
 *
 * Fallback. If a layer keeps more than state_cap states (QCC_KNAP_STATE_CAP,
 * 2^21), states whose sizes fall in one bucket of width budget / (cap / 2)
 * (budget / 2^20 by default, at least 1) are merged: the bucket keeps its
 * least-cost state and, with a latency budget, its least-latency state too.
 * Sizes stay exact, so the pick still fits the budgets, but it may not be
 * optimal (the incumbent is returned when it is better), and with a latency
 * budget a feasible instance may be reported infeasible when the incumbent
 * missed too; out->exact = false says so. Memory: about 70 bytes (85 with
 * latency) per candidate of one layer (states x m) plus 8 per state kept,
 * all layers (none for the frontier). */
#include "knapsack.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct state {
  int64_t size;
  double latency, cost;
  int32_t parent; /* the rank of the state it extends, in the previous layer */
  int32_t choice; /* the choice it adds */
} state;

typedef struct backptr { int32_t parent, choice; } backptr;

typedef struct dp {
  const qcc_knap_group *groups;
  int n;
  int64_t budget, state_cap;
  double latency_budget;
  bool use_latency, keep_trace; /* keep_trace: the back-pointers (the frontier needs none) */
  /* the cost bound (none when relaxed_after is NULL): drop a state whose
   * cost + relaxed_after[i + 1] - mult . (room left) exceeds cost_limit */
  double mult[2], *relaxed_after, cost_limit;
  /* results: the last layer's states, back-pointers per layer by rank */
  state *layer;
  int32_t *rank;
  int64_t count;
  backptr **trace;
  int64_t explored;
  bool exact;
} dp;

static void set_err(char *err, size_t cap, const char *fmt, ...) {
  if (!err || !cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

static bool valid_amount(double x) { return x >= 0 && x <= DBL_MAX; } /* false for NaN too */

static bool check_input(const qcc_knap_group *groups, int n, bool use_latency, char *err, size_t cap) {
  if (n < 0 || (n > 0 && !groups)) return set_err(err, cap, "knapsack: bad group count %d", n), false;
  for (int i = 0; i < n; i++) {
    if (groups[i].n <= 0 || !groups[i].choices) return set_err(err, cap, "knapsack: group %d has no choices", i), false;
    for (int j = 0; j < groups[i].n; j++) {
      const qcc_knap_choice *c = &groups[i].choices[j];
      if (!valid_amount(c->cost))
        return set_err(err, cap, "knapsack: group %d choice %d: cost %g is not finite and >= 0", i, j, c->cost), false;
      if (c->size < 0)
        return set_err(err, cap, "knapsack: group %d choice %d: negative size %lld", i, j, (long long)c->size), false;
      if (use_latency && !valid_amount(c->latency))
        return set_err(err, cap, "knapsack: group %d choice %d: latency %g is not finite and >= 0", i, j, c->latency),
               false;
    }
  }
  return true;
}

static int64_t add_saturating(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }
static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }
static int cmp_f64(double a, double b) { return (a > b) - (a < b); }
static int compare_doubles(const void *a, const void *b) { return cmp_f64(*(const double *)a, *(const double *)b); }

/* The order of every layer: size, latency, cost, then the pick in
 * lexicographic order, i.e. (parent's rank, choice). Total, so qsort's
 * instability cannot show. */
static int state_order(const void *pa, const void *pb) {
  const state *a = pa, *b = pb;
  int c = cmp_i64(a->size, b->size);
  if (!c) c = cmp_f64(a->latency, b->latency);
  if (!c) c = cmp_f64(a->cost, b->cost);
  if (!c) c = cmp_i64(a->parent, b->parent);
  return c ? c : cmp_i64(a->choice, b->choice);
}

/* ---- the cost bound -------------------------------------------------- */

static double relaxed_value(const dp *d, const qcc_knap_choice *c, const double mult[2]) {
  return c->cost + mult[0] * (double)c->size + (d->use_latency ? mult[1] * c->latency : 0);
}

/* Per group the choice of least relaxed value (ties: smaller size, then
 * lower index); use[] gets its total size and latency. */
static void relaxed_pick(const dp *d, const double mult[2], int *pick, double use[2]) {
  use[0] = use[1] = 0;
  for (int i = 0; i < d->n; i++) {
    const qcc_knap_choice *c = d->groups[i].choices;
    int best = 0;
    for (int j = 1; j < d->groups[i].n; j++) {
      const double value = relaxed_value(d, &c[j], mult), best_value = relaxed_value(d, &c[best], mult);
      if (value < best_value || (value == best_value && c[j].size < c[best].size)) best = j;
    }
    pick[i] = best;
    use[0] += (double)c[best].size;
    use[1] += d->use_latency ? c[best].latency : 0;
  }
}

/* Fills relaxed_after; returns the dual value, a lower bound on the optimum. */
static double relax(const dp *d, const double mult[2], double *relaxed_after) {
  relaxed_after[d->n] = 0;
  for (int i = d->n - 1; i >= 0; i--) {
    double least = INFINITY;
    for (int j = 0; j < d->groups[i].n; j++) {
      const double value = relaxed_value(d, &d->groups[i].choices[j], mult);
      least = value < least ? value : least;
    }
    relaxed_after[i] = least + relaxed_after[i + 1];
  }
  return relaxed_after[0] - mult[0] * (double)d->budget - (d->use_latency ? mult[1] * d->latency_budget : 0);
}

/* Whether the relaxed pick with mult[r] = value fits budget r. */
static bool relaxed_fits(const dp *d, double mult[2], int r, double value, int *pick) {
  double use[2];
  mult[r] = value;
  relaxed_pick(d, mult, pick, use);
  return use[r] <= (r ? d->latency_budget : (double)d->budget);
}

/* Bisection on multiplier r (0 size, 1 latency), the other fixed: where the
 * relaxed pick starts to fit budget r, to ~1e-14 relative, keeping the side
 * of the larger dual value; 0 when it fits at 0 or at no multiplier. */
static void fit_multiplier(const dp *d, double mult[2], int r, int *pick, double *relaxed_after) {
  if (relaxed_fits(d, mult, r, 0, pick)) return;
  double lo, hi = 1; /* the scale first: lo does not fit, hi does, hi = 2 lo */
  if (relaxed_fits(d, mult, r, hi, pick)) {
    while (hi > 1e-300 && relaxed_fits(d, mult, r, hi / 2, pick)) hi /= 2;
  } else {
    while (hi < 1e300 && !relaxed_fits(d, mult, r, hi * 2, pick)) hi *= 2;
    if (!relaxed_fits(d, mult, r, hi *= 2, pick)) { /* the budget is out of reach */
      mult[r] = 0;
      return;
    }
  }
  lo = hi / 2;
  for (int step = 0; step < 48; step++) {
    const double mid = lo + (hi - lo) / 2;
    *(relaxed_fits(d, mult, r, mid, pick) ? &hi : &lo) = mid;
  }
  mult[r] = lo;
  const double dual_lo = relax(d, mult, relaxed_after);
  mult[r] = hi;
  if (relax(d, mult, relaxed_after) < dual_lo) mult[r] = lo;
}

/* How far totals are over the budgets, relative to them. */
static double overrun(const dp *d, double size, double latency) {
  const double budget = (double)d->budget, latency_budget = d->latency_budget;
  double over = size > budget ? (size - budget) / (budget > 1 ? budget : 1) : 0;
  if (d->use_latency && latency > latency_budget)
    over += (latency - latency_budget) / (latency_budget > 1 ? latency_budget : 1);
  return over;
}

/* Local search on a pick, one change of one group at a time: over the
 * budgets, the change that cuts the most overrun per cost added; within
 * them, the one that saves the most cost and stays within. Returns the
 * pick's cost, INFINITY if it does not fit. */
static double improve(const dp *d, int *pick) {
  double size = 0, latency = 0, cost = 0;
  for (int i = 0; i < d->n; i++) {
    size += (double)d->groups[i].choices[pick[i]].size;
    latency += d->use_latency ? d->groups[i].choices[pick[i]].latency : 0;
  }
  for (int round = 0; round < 4 * d->n + 4; round++) {
    const double over = overrun(d, size, latency);
    int best_i = -1, best_j = 0;
    double best_score = 0, best_size = 0, best_latency = 0;
    for (int i = 0; i < d->n; i++)
      for (int j = 0; j < d->groups[i].n; j++) {
        const qcc_knap_choice *now = &d->groups[i].choices[pick[i]], *c = &d->groups[i].choices[j];
        const double new_size = size + (double)(c->size - now->size);
        const double new_latency = latency + (d->use_latency ? c->latency - now->latency : 0);
        const double saved = now->cost - c->cost, new_over = overrun(d, new_size, new_latency);
        double score = new_over > 0 ? 0 : saved; /* within the budgets */
        if (over > 0) score = new_over >= over ? 0 : saved >= 0 ? INFINITY : (over - new_over) / -saved;
        if (score > best_score)
          best_score = score, best_i = i, best_j = j, best_size = new_size, best_latency = new_latency;
      }
    if (best_i < 0) break;
    pick[best_i] = best_j, size = best_size, latency = best_latency;
  }
  int64_t total = 0;
  bool fits = d->budget >= 0;
  latency = 0;
  for (int i = 0; i < d->n; i++) { /* the exact totals, in group order; total stays <= budget */
    const qcc_knap_choice *c = &d->groups[i].choices[pick[i]];
    fits = fits && c->size <= d->budget - total;
    total += fits ? c->size : 0;
    cost += c->cost, latency += d->use_latency ? c->latency : 0;
  }
  return fits && (!d->use_latency || latency <= d->latency_budget) ? cost : INFINITY;
}

/* Sets d->mult and d->relaxed_after; returns the incumbent's cost
 * (INFINITY if none), *dual the lower bound and *slack the rounding slack. */
static double cost_bound(dp *d, int *pick, double *dual, double *slack) {
  double *mult = d->mult, *relaxed_after = d->relaxed_after, least_size = 0, least_latency = 0;
  mult[0] = mult[1] = 0;
  for (int i = 0; i < d->n; i++) {
    double size = INFINITY, latency = INFINITY;
    for (int j = 0; j < d->groups[i].n; j++) {
      const qcc_knap_choice *c = &d->groups[i].choices[j];
      size = (double)c->size < size ? (double)c->size : size;
      latency = d->use_latency && c->latency < latency ? c->latency : latency;
    }
    least_size += size, least_latency += d->use_latency ? latency : 0;
  }
  const double rounding = 1 + 4.0 * (d->n + 1) * DBL_EPSILON;
  if (least_size > (double)d->budget * rounding || (d->use_latency && least_latency > d->latency_budget * rounding)) {
    *dual = relax(d, mult, relaxed_after), *slack = 0; /* infeasible: the DP finds out at once */
    return INFINITY;
  }
  fit_multiplier(d, mult, 0, pick, relaxed_after);
  if (d->use_latency) {
    /* max over mu of the dual is concave in lambda: golden-section search
     * for lambda, bisection for mu, over [0, twice the larger lambda that
     * fits the size alone or with the mu that fits the latency alone] */
    const double lambda_alone = mult[0];
    mult[0] = 0;
    fit_multiplier(d, mult, 1, pick, relaxed_after);
    fit_multiplier(d, mult, 0, pick, relaxed_after);
    double a = 0, b = 2 * (mult[0] > lambda_alone ? mult[0] : lambda_alone), best[3] = {0, 0, -INFINITY};
    for (int step = 0; step < 40 && a < b; step++) {
      double value[2], at[2] = {b - 0.6180339887498949 * (b - a), a + 0.6180339887498949 * (b - a)};
      for (int k = 0; k < 2; k++) {
        mult[0] = at[k];
        fit_multiplier(d, mult, 1, pick, relaxed_after);
        value[k] = relax(d, mult, relaxed_after);
        if (value[k] > best[2]) best[0] = mult[0], best[1] = mult[1], best[2] = value[k];
      }
      if (value[0] < value[1]) a = at[0];
      else b = at[1];
    }
    mult[0] = best[0], mult[1] = best[1];
    if (!(a < b)) fit_multiplier(d, mult, 1, pick, relaxed_after); /* lambda = 0 */
  }
  double use[2];
  relaxed_pick(d, d->mult, pick, use);
  const double incumbent = improve(d, pick);
  *dual = relax(d, d->mult, d->relaxed_after);
  *slack = 8.0 * (d->n + 4) * DBL_EPSILON * (incumbent + 2 * d->relaxed_after[0] - *dual);
  return incumbent;
}

/* ---- the DP ------------------------------------------------------------ */

/* Merges the size-sorted runs [bounds[r], bounds[r + 1]) pairwise, stably
 * by size, until one is left; returns the buffer holding it (a or b). */
static state *merge_runs(state *a, state *b, int64_t *bounds, int runs) {
  while (runs > 1) {
    int merged = 0;
    for (int r = 0; r < runs; r += 2) {
      const int64_t lo = bounds[r], mid = bounds[r + 1], hi = r + 2 <= runs ? bounds[r + 2] : mid;
      int64_t x = lo, y = mid, o = lo;
      while (x < mid && y < hi) b[o++] = a[y].size < a[x].size ? a[y++] : a[x++];
      while (x < mid) b[o++] = a[x++];
      while (y < hi) b[o++] = a[y++];
      bounds[merged++] = lo;
    }
    bounds[merged] = bounds[runs];
    runs = merged;
    state *t = a;
    a = b;
    b = t;
  }
  return a;
}

/* Keeps, in place and in order, the candidates no earlier one dominates.
 * Each dominator sorts before what it dominates (<= everywhere, and a
 * smaller pick on a full tie) and dominance is transitive, so asking the
 * kept ones suffices: is there one with latency <= and cost <= this one's?
 * fenwick[1..levels] holds their least cost per latency prefix. */
static int64_t drop_dominated(state *s, int64_t count, double *latencies, double *fenwick) {
  int64_t levels = 1;
  if (latencies) {
    for (int64_t k = 0; k < count; k++) latencies[k] = s[k].latency;
    qsort(latencies, (size_t)count, sizeof *latencies, compare_doubles);
    levels = 0;
    for (int64_t k = 0; k < count; k++)
      if (!levels || latencies[k] != latencies[levels - 1]) latencies[levels++] = latencies[k];
  }
  for (int64_t r = 1; r <= levels; r++) fenwick[r] = INFINITY;
  int64_t kept = 0;
  for (int64_t k = 0; k < count; k++) {
    int64_t level = 1;
    if (latencies) { /* the index of this latency among the levels, plus 1 */
      int64_t lo = 0, hi = levels - 1;
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (latencies[mid] < s[k].latency) lo = mid + 1;
        else hi = mid;
      }
      level = lo + 1;
    }
    double least = INFINITY;
    for (int64_t r = level; r > 0; r -= r & -r) least = fenwick[r] < least ? fenwick[r] : least;
    if (least <= s[k].cost) continue;
    for (int64_t r = level; r <= levels; r += r & -r)
      if (s[k].cost < fenwick[r]) fenwick[r] = s[k].cost;
    s[kept++] = s[k];
  }
  return kept;
}

/* The fallback: one state per size bucket (two with a latency budget). In
 * a bucket, in layer order, the first of least cost is the bucket's best
 * answer and the first of least latency the likeliest to fit the latency
 * budget. Keeps the order. */
static int64_t merge_buckets(state *s, int64_t count, int64_t width, bool use_latency) {
  int64_t out = 0;
  for (int64_t a = 0, b; a < count; a = b) {
    int64_t cheapest = a, fastest = a;
    for (b = a; b < count && s[b].size / width == s[a].size / width; b++) {
      if (s[b].cost < s[cheapest].cost) cheapest = b;
      if (s[b].latency < s[fastest].latency) fastest = b;
    }
    if (!use_latency || cheapest == fastest) {
      s[out++] = s[cheapest];
    } else {
      const state first = s[cheapest < fastest ? cheapest : fastest];
      const state second = s[cheapest < fastest ? fastest : cheapest];
      s[out++] = first;
      s[out++] = second;
    }
  }
  return out;
}

/* Whether a partial latency plus the least the later groups need exceeds
 * the budget. After the last group it is the pick's own sum, compared
 * exactly; before, the bound is added in another order than any pick's
 * sum, so it gets a relative slack of a few ulps per group. */
static bool latency_exceeds(double bound, double budget, int n, bool last) {
  return last ? bound > budget : bound > budget * (1 + 4.0 * (n + 1) * DBL_EPSILON);
}

/* Whether the cost bound drops the state s after group i: the least cost
 * any completion within the budgets can reach exceeds the limit. */
static bool cannot_win(const dp *d, const state *s, int i) {
  if (!d->relaxed_after) return false;
  double bound = s->cost + d->relaxed_after[i + 1] - d->mult[0] * (double)(d->budget - s->size);
  if (d->use_latency) bound -= d->mult[1] * (d->latency_budget - s->latency);
  return bound > d->cost_limit;
}

static void dp_free(dp *d) {
  for (int i = 0; d->trace && i < d->n; i++) free(d->trace[i]);
  free(d->trace), free(d->layer), free(d->rank);
  d->trace = NULL, d->layer = NULL, d->rank = NULL;
}

/* Runs the DP: d->layer holds the last layer's states (none if
 * infeasible), d->trace the back-pointers. False on allocation failure. */
static bool dp_run(dp *d, char *err, size_t err_cap) {
  const int n = d->n;
  int max_choices = 1;
  for (int i = 0; i < n; i++) max_choices = d->groups[i].n > max_choices ? d->groups[i].n : max_choices;
  int64_t *min_size_after = malloc(sizeof(int64_t) * ((size_t)n + 1));
  int64_t *bounds = malloc(sizeof(int64_t) * ((size_t)max_choices + 1));
  double *min_latency_after = malloc(sizeof(double) * ((size_t)n + 1));
  double fenwick_2d[2];
  state *cand = NULL, *spare = NULL;
  int32_t *key_rank = NULL;
  double *latencies = NULL, *fenwick = NULL;
  int64_t capacity = 0, layer_capacity = 1;
  bool ok = false;
  d->trace = calloc((size_t)(n ? n : 1), sizeof *d->trace);
  d->layer = malloc(sizeof *d->layer);
  d->rank = malloc(sizeof *d->rank);
  if (!min_size_after || !bounds || !min_latency_after || !d->trace || !d->layer || !d->rank) goto out_of_memory;

  /* The least size and latency groups i.. need, for pruning. */
  min_size_after[n] = 0;
  min_latency_after[n] = 0;
  for (int i = n - 1; i >= 0; i--) {
    int64_t least_size = INT64_MAX;
    double least_latency = INFINITY;
    for (int j = 0; j < d->groups[i].n; j++) {
      const qcc_knap_choice *c = &d->groups[i].choices[j];
      least_size = c->size < least_size ? c->size : least_size;
      least_latency = d->use_latency && c->latency < least_latency ? c->latency : least_latency;
    }
    min_size_after[i] = add_saturating(least_size, min_size_after[i + 1]);
    min_latency_after[i] = d->use_latency ? least_latency + min_latency_after[i + 1] : 0;
  }
  d->layer[0] = (state){0, 0, 0, 0, 0};
  d->rank[0] = 0;
  d->count = 1;
  d->explored = 0;
  d->exact = true;
  /* From here on state size + min_size_after[i] <= budget: no overflow. */
  if (d->budget < 0 || min_size_after[0] > d->budget) d->count = 0;

  for (int i = 0; i < n && d->count > 0; i++) {
    const qcc_knap_group *g = &d->groups[i];
    const int64_t most = d->count * g->n;
    if (most > INT32_MAX) {
      set_err(err, err_cap, "knapsack: %lld candidate states in group %d", (long long)most, i);
      goto fail;
    }
    if (most > capacity) { /* grown geometrically: fresh pages cost more than the copying */
      capacity = most > 2 * capacity ? most : 2 * capacity;
      free(cand), free(spare), free(key_rank), free(latencies), free(fenwick);
      cand = malloc(sizeof *cand * (size_t)capacity);
      spare = malloc(sizeof *spare * (size_t)capacity);
      key_rank = malloc(sizeof *key_rank * (size_t)capacity);
      latencies = d->use_latency ? malloc(sizeof *latencies * (size_t)capacity) : NULL;
      fenwick = d->use_latency ? malloc(sizeof *fenwick * (size_t)(capacity + 1)) : NULL;
      if (!cand || !spare || !key_rank || (d->use_latency && (!latencies || !fenwick))) goto out_of_memory;
    }
    /* One run per choice; the parents are sorted by size, so is the run. */
    const int64_t size_room = d->budget - min_size_after[i + 1];
    int64_t count = 0;
    bounds[0] = 0;
    for (int j = 0; j < g->n; j++) {
      const qcc_knap_choice *c = &g->choices[j];
      for (int64_t k = 0; k < d->count; k++) {
        const state *p = &d->layer[k];
        if (c->size > size_room - p->size) break; /* so would every later, larger parent */
        state s = {p->size + c->size, 0, p->cost + c->cost, d->rank[k], j};
        if (d->use_latency) {
          s.latency = p->latency + c->latency;
          if (latency_exceeds(s.latency + min_latency_after[i + 1], d->latency_budget, n, i == n - 1)) continue;
        }
        if (!cannot_win(d, &s, i)) cand[count++] = s;
      }
      bounds[j + 1] = count;
    }
    d->explored += count;
    state *sorted = merge_runs(cand, spare, bounds, g->n);
    for (int64_t a = 0, b; a < count; a = b) { /* equal sizes: finish the order */
      for (b = a + 1; b < count && sorted[b].size == sorted[a].size;) b++;
      if (b - a > 1) qsort(sorted + a, (size_t)(b - a), sizeof *sorted, state_order);
    }
    int64_t kept = drop_dominated(sorted, count, latencies, d->use_latency ? fenwick : fenwick_2d);
    if (kept > d->state_cap) {
      const int64_t width = d->budget / (d->state_cap / 2 > 0 ? d->state_cap / 2 : 1);
      kept = merge_buckets(sorted, kept, width > 0 ? width : 1, d->use_latency);
      d->exact = false;
    }

    /* Rank the kept states by pick: key = parent's rank * m + choice. */
    memset(key_rank, 0xff, sizeof *key_rank * (size_t)most);
    for (int64_t k = 0; k < kept; k++) key_rank[(int64_t)sorted[k].parent * g->n + sorted[k].choice] = 0;
    int32_t next_rank = 0;
    for (int64_t key = 0; key < most; key++)
      if (key_rank[key] >= 0) key_rank[key] = next_rank++;
    if (kept > layer_capacity) {
      layer_capacity = kept > 2 * layer_capacity ? kept : 2 * layer_capacity;
      state *grown = realloc(d->layer, sizeof *grown * (size_t)layer_capacity);
      if (grown) d->layer = grown;
      int32_t *grown_rank = realloc(d->rank, sizeof *grown_rank * (size_t)layer_capacity);
      if (grown_rank) d->rank = grown_rank;
      if (!grown || !grown_rank) goto out_of_memory;
    }
    backptr *trace = d->keep_trace ? malloc(sizeof *trace * (size_t)(kept ? kept : 1)) : NULL;
    if (d->keep_trace && !(d->trace[i] = trace)) goto out_of_memory;
    for (int64_t k = 0; k < kept; k++) {
      const int32_t r = key_rank[(int64_t)sorted[k].parent * g->n + sorted[k].choice];
      d->layer[k] = sorted[k];
      d->rank[k] = r;
      if (trace) trace[r] = (backptr){sorted[k].parent, sorted[k].choice};
    }
    d->count = kept;
  }
  ok = true;
  goto done;
out_of_memory:
  set_err(err, err_cap, "knapsack: out of memory");
fail:
done:
  free(min_size_after), free(bounds), free(min_latency_after);
  free(cand), free(spare), free(key_rank), free(latencies), free(fenwick);
  return ok;
}

/* ---- API --------------------------------------------------------------- */

/* The answer's order: cost, size, latency, then the pick (its rank). */
static bool better_answer(const state *a, int32_t rank_a, const state *b, int32_t rank_b) {
  if (a->cost != b->cost) return a->cost < b->cost;
  if (a->size != b->size) return a->size < b->size;
  if (a->latency != b->latency) return a->latency < b->latency;
  return rank_a < rank_b;
}

bool qcc_knapsack_solve_capped(const qcc_knap_group *groups, int n, int64_t budget, double latency_budget,
                               int64_t state_cap, int *pick, qcc_knap_result *out, char *err, size_t err_cap) {
  const bool use_latency = latency_budget >= 0;
  if (!out || (n > 0 && !pick)) return set_err(err, err_cap, "knapsack: no result or pick array"), false;
  *out = (qcc_knap_result){pick, 0, 0, 0, false, true, 0};
  if (!check_input(groups, n, use_latency, err, err_cap)) return false;
  dp d = {.groups = groups, .n = n, .budget = budget, .state_cap = state_cap > 1 ? state_cap : 1,
          .latency_budget = latency_budget, .use_latency = use_latency, .keep_trace = true};
  double *relaxed_after = malloc(sizeof(double) * ((size_t)n + 1)), dual = 0, slack = 0;
  int *incumbent_pick = malloc(sizeof(int) * (size_t)(n ? n : 1));
  bool ok = relaxed_after && incumbent_pick;
  if (!ok) set_err(err, err_cap, "knapsack: out of memory");
  d.relaxed_after = relaxed_after;
  const double incumbent = ok ? cost_bound(&d, incumbent_pick, &dual, &slack) : INFINITY;
  /* Deepening: the closer the limit to the dual bound, the fewer states
   * survive. A run whose best pick costs <= its limit found the optimum
   * (every pick of cost <= limit survives it: its states' bounds are <= its
   * cost); else widen 4x, up to the incumbent's cost, which always finds. */
  const double first_width = (incumbent - dual) / 64;
  int64_t best = -1;
  for (double width = first_width > 0 ? first_width : INFINITY; ok; width *= 4) {
    const double limit = dual + width < incumbent ? dual + width : incumbent;
    d.cost_limit = limit + slack;
    ok = dp_run(&d, err, err_cap);
    out->states += d.explored;
    best = -1;
    for (int64_t k = 0; ok && k < d.count; k++)
      if (best < 0 || better_answer(&d.layer[k], d.rank[k], &d.layer[best], d.rank[best])) best = k;
    if (!ok || (best >= 0 && d.layer[best].cost <= limit) || limit >= incumbent) break;
    dp_free(&d);
  }
  out->exact = d.exact;
  for (int i = 0; ok && i < n; i++) pick[i] = -1;
  if (ok && best >= 0 && (d.exact || d.layer[best].cost <= incumbent)) {
    out->feasible = true;
    out->cost = d.layer[best].cost;
    out->size = d.layer[best].size;
    out->latency = d.layer[best].latency;
    int32_t r = d.rank[best];
    for (int i = n - 1; i >= 0; i--) {
      pick[i] = d.trace[i][r].choice;
      r = d.trace[i][r].parent;
    }
  } else if (ok && incumbent < INFINITY) { /* the fallback lost it: the incumbent is better */
    out->feasible = true;
    for (int i = 0; i < n; i++) {
      const qcc_knap_choice *c = &groups[i].choices[pick[i] = incumbent_pick[i]];
      out->cost += c->cost, out->size += c->size, out->latency += use_latency ? c->latency : 0;
    }
  }
  free(relaxed_after), free(incumbent_pick);
  dp_free(&d);
  return ok;
}

bool qcc_knapsack_solve(const qcc_knap_group *groups, int n, int64_t budget, double latency_budget, int *pick,
                        qcc_knap_result *out, char *err, size_t err_cap) {
  return qcc_knapsack_solve_capped(groups, n, budget, latency_budget, QCC_KNAP_STATE_CAP, pick, out, err, err_cap);
}

int qcc_knapsack_frontier(const qcc_knap_group *groups, int n, int64_t *sizes, double *costs, int cap, bool *exact) {
  if (!check_input(groups, n, false, NULL, 0) || (cap > 0 && (!sizes || !costs))) return -1;
  /* The all-cheapest pick's size: a larger budget cannot lower the cost. */
  int64_t budget = 0;
  for (int i = 0; i < n; i++) {
    const qcc_knap_choice *best = &groups[i].choices[0];
    for (int j = 1; j < groups[i].n; j++) {
      const qcc_knap_choice *c = &groups[i].choices[j];
      if (c->cost < best->cost || (c->cost == best->cost && c->size < best->size)) best = c;
    }
    budget = add_saturating(budget, best->size);
  }
  dp d = {.groups = groups, .n = n, .budget = budget, .state_cap = QCC_KNAP_STATE_CAP, .latency_budget = -1};
  if (!dp_run(&d, NULL, 0)) return dp_free(&d), -1;
  /* The last layer is the 2-D Pareto set: sizes up, costs strictly down. */
  const int count = d.count > INT32_MAX ? INT32_MAX : (int)d.count;
  for (int k = 0; k < count && k < cap; k++) {
    sizes[k] = d.layer[k].size;
    costs[k] = d.layer[k].cost;
  }
  if (exact) *exact = d.exact;
  dp_free(&d);
  return count;
}
