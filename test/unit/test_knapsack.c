/* test_knapsack.c - the exact multiple-choice knapsack behind mixed-precision
 * bit allocation (passes/knapsack.h):
 *  - brute force on 3000 random small instances (1..7 groups of 1..5
 *    choices; costs with exact ties and zeros, dyadic or arbitrary; equal
 *    and zero sizes; budgets from infeasible through tight to loose): same
 *    feasibility, same optimal cost, a pick that fits and adds up to the
 *    reported totals and, when every sum is exact, the very pick of the
 *    documented tie-break (cost, size, latency, lexicographic choices);
 *  - the same with a latency budget (3000 more), and latencies ignored,
 *    NaN even, without one;
 *  - determinism: solving twice gives the same pick and state count,
 *    permuting the choices within groups the same optimum, and a fixed
 *    large instance the pick recorded here (the same on every platform);
 *  - large: a realistic 300 layers x 12 formats (sizes up to 1e8 bytes)
 *    solved exactly in well under a second, also with a binding latency
 *    budget, and an unstructured random one; a 300 x 12 instance with
 *    sizes in whole MiB against an independent classic DP over the budget;
 *  - the frontier: equal to the brute-force Pareto front (sizes up, costs
 *    strictly down), each point the solver's optimum at its size and out of
 *    reach one byte below, and equal to the classic DP's on 40 x 12;
 *  - the fallback (a state cap of 4): flagged inexact, the pick still fits,
 *    never below the optimum; exact when the cap is not hit;
 *  - bad input: no groups, a group without choices, negative sizes, NaN or
 *    negative costs, negative latencies, huge sizes without overflow. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knapsack.h"

static int passed, failed;

static void check(int ok, const char *what) {
  if (ok) passed++;
  else failed++, printf("FAIL: %s\n", what);
}

/* Failures inside loops over thousands of instances: count once, print the first few. */
static void check_quiet(int ok, const char *what, int *reported) {
  if (ok) return;
  if ((*reported)++ < 5) printf("FAIL: %s\n", what);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_u64(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static int64_t rand_below(int64_t n) { return (int64_t)(next_u64() % (uint64_t)n); }
static double rand_unit(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }

/* ---- small instances and the brute force ------------------------------- */

enum { MAXN = 7, MAXM = 5 };

typedef struct instance {
  int n;
  bool exact_sums; /* dyadic costs and latencies: every sum exact, the tie-break checkable */
  qcc_knap_choice choice[MAXN][MAXM];
  qcc_knap_group group[MAXN];
} instance;

typedef struct answer {
  bool feasible;
  double cost, latency;
  int64_t size;
  int pick[MAXN];
} answer;

static double random_amount(int mode) {
  switch (mode) {
  case 0: return (double)rand_below(8) / 8;              /* many exact ties and zeros */
  case 1: return rand_below(5) ? rand_unit() : 0;        /* arbitrary, some zeros */
  default: return (double)rand_below(1001) / 4;          /* dyadic, wide */
  }
}

static int64_t random_size(int mode) {
  switch (mode) {
  case 0: return rand_below(7);                          /* equal sizes, zeros */
  case 1: return rand_below(1000000001);                 /* bytes of big layers */
  default: return 1000 * rand_below(11);
  }
}

static void random_instance(instance *in) {
  const int cost_mode = (int)rand_below(3), size_mode = (int)rand_below(3), latency_mode = (int)rand_below(3);
  in->n = 1 + (int)rand_below(MAXN);
  in->exact_sums = cost_mode != 1 && latency_mode != 1;
  for (int i = 0; i < in->n; i++) {
    in->group[i] = (qcc_knap_group){in->choice[i], 1 + (int)rand_below(MAXM)};
    for (int j = 0; j < in->group[i].n; j++)
      in->choice[i][j] =
          (qcc_knap_choice){random_amount(cost_mode), random_size(size_mode), random_amount(latency_mode)};
  }
}

/* Every pick in lexicographic order; only a strictly better (cost, size,
 * latency) replaces the best, so ties keep the lexicographically first. */
static answer brute_force(const instance *in, int64_t budget, double latency_budget) {
  answer best = {0};
  int idx[MAXN] = {0};
  for (;;) {
    double cost = 0, latency = 0;
    int64_t size = 0;
    for (int i = 0; i < in->n; i++) {
      const qcc_knap_choice *c = &in->choice[i][idx[i]];
      cost += c->cost;
      size += c->size;
      if (latency_budget >= 0) latency += c->latency;
    }
    if (size <= budget && (latency_budget < 0 || latency <= latency_budget) &&
        (!best.feasible || cost < best.cost || (cost == best.cost && size < best.size) ||
         (cost == best.cost && size == best.size && latency < best.latency))) {
      best = (answer){true, cost, latency, size, {0}};
      memcpy(best.pick, idx, sizeof idx);
    }
    int i = in->n - 1;
    while (i >= 0 && ++idx[i] == in->group[i].n) idx[i--] = 0;
    if (i < 0) return best;
  }
}

static void extremes(const instance *in, bool latency, int64_t *lo, int64_t *hi) {
  *lo = *hi = 0;
  for (int i = 0; i < in->n; i++) {
    int64_t a = INT64_MAX, b = 0;
    for (int j = 0; j < in->group[i].n; j++) {
      int64_t v = latency ? (int64_t)(in->choice[i][j].latency * 8) : in->choice[i][j].size;
      a = v < a ? v : a;
      b = v > b ? v : b;
    }
    *lo += a;
    *hi += b;
  }
}

/* Infeasible, the tightest feasible, the loosest, or random in between. */
static int64_t random_budget(int64_t lo, int64_t hi) {
  switch (rand_below(6)) {
  case 0: return lo - 1 - rand_below(3);
  case 1: return lo;
  case 2: return hi + rand_below(3);
  default: return lo + rand_below(hi - lo + 1);
  }
}

static bool close_rel(double a, double b) { return a == b || (a - b <= 1e-12 * b && b - a <= 1e-12 * b); }

/* The result against the brute force; the pick is re-added here. */
static bool agrees(const instance *in, const answer *want, const qcc_knap_result *got, int64_t budget,
                   double latency_budget) {
  if (got->feasible != want->feasible || !got->exact) return false;
  if (!want->feasible) {
    for (int i = 0; i < in->n; i++)
      if (got->pick[i] != -1) return false;
    return got->cost == 0 && got->size == 0;
  }
  double cost = 0, latency = 0;
  int64_t size = 0;
  for (int i = 0; i < in->n; i++) {
    if (got->pick[i] < 0 || got->pick[i] >= in->group[i].n) return false;
    const qcc_knap_choice *c = &in->choice[i][got->pick[i]];
    cost += c->cost, size += c->size, latency += latency_budget >= 0 ? c->latency : 0;
  }
  if (cost != got->cost || size != got->size || latency != got->latency) return false;
  if (size > budget || (latency_budget >= 0 && latency > latency_budget)) return false;
  if (!close_rel(got->cost, want->cost)) return false;
  if (in->exact_sums) /* the documented tie-break, exactly */
    return got->size == want->size && got->latency == want->latency &&
           !memcmp(got->pick, want->pick, sizeof(int) * (size_t)in->n);
  return true;
}

static void test_brute_force(bool with_latency, int instances) {
  int reported = 0, feasible = 0, infeasible = 0, exact_ties = 0;
  int pick[MAXN];
  char err[200];
  for (int t = 0; t < instances; t++) {
    instance in;
    random_instance(&in);
    int64_t lo, hi;
    extremes(&in, false, &lo, &hi);
    const int64_t budget = random_budget(lo, hi);
    double latency_budget = -1;
    if (with_latency) {
      extremes(&in, true, &lo, &hi); /* in eighths */
      latency_budget = (double)random_budget(lo, hi) / 8;
      if (latency_budget < 0) latency_budget = 0; /* -1 would mean "none": use 0 (often infeasible) */
    } else if (t % 2) {
      for (int i = 0; i < in.n; i++) in.choice[i][0].latency = NAN; /* unused: never read */
    }
    const answer want = brute_force(&in, budget, latency_budget);
    qcc_knap_result got;
    bool ok = qcc_knapsack_solve(in.group, in.n, budget, latency_budget, pick, &got, err, sizeof err);
    char what[160];
    snprintf(what, sizeof what, "%s instance %d (n %d, budget %lld): solver agrees with brute force",
             with_latency ? "latency" : "size", t, in.n, (long long)budget);
    check_quiet(ok && agrees(&in, &want, &got, budget, latency_budget), what, &reported);
    feasible += want.feasible, infeasible += !want.feasible, exact_ties += want.feasible && in.exact_sums;
  }
  printf("  %s budget: %d instances (%d feasible, %d infeasible, %d with exact sums checked pick for pick)\n",
         with_latency ? "size + latency" : "size", instances, feasible, infeasible, exact_ties);
  check(reported == 0, with_latency ? "brute force: size + latency budgets" : "brute force: size budget");
}

static void test_determinism_small(int instances) {
  int reported = 0;
  for (int t = 0; t < instances; t++) {
    instance in, shuffled;
    random_instance(&in);
    int64_t lo, hi;
    extremes(&in, false, &lo, &hi);
    const int64_t budget = random_budget(lo, hi);
    const double latency_budget = t % 2 ? -1 : (double)(rand_below(4 * in.n + 1)) / 4;
    int pick1[MAXN], pick2[MAXN], pick3[MAXN];
    qcc_knap_result r1, r2, r3;
    bool ok = qcc_knapsack_solve(in.group, in.n, budget, latency_budget, pick1, &r1, NULL, 0) &&
              qcc_knapsack_solve(in.group, in.n, budget, latency_budget, pick2, &r2, NULL, 0);
    ok = ok && r1.feasible == r2.feasible && r1.cost == r2.cost && r1.states == r2.states &&
         !memcmp(pick1, pick2, sizeof(int) * (size_t)in.n);
    check_quiet(ok, "determinism: solving twice gives the same pick", &reported);
    /* Fisher-Yates within each group */
    shuffled = in;
    for (int i = 0; i < in.n; i++) {
      shuffled.group[i].choices = shuffled.choice[i];
      for (int j = in.group[i].n - 1; j > 0; j--) {
        const int k = (int)rand_below(j + 1);
        qcc_knap_choice c = shuffled.choice[i][j];
        shuffled.choice[i][j] = shuffled.choice[i][k];
        shuffled.choice[i][k] = c;
      }
    }
    ok = qcc_knapsack_solve(shuffled.group, in.n, budget, latency_budget, pick3, &r3, NULL, 0) &&
         r3.feasible == r1.feasible && r3.cost == r1.cost &&
         (!in.exact_sums || (r3.size == r1.size && r3.latency == r1.latency));
    check_quiet(ok, "determinism: permuting choices gives the same optimum", &reported);
  }
  check(reported == 0, "determinism: repeat and permuted choices");
}

/* ---- large instances --------------------------------------------------- */

enum { LAYERS = 300, FORMATS = 12 };
/* bits per weight, in 64ths: {2,3,4,5,6,8} bits, plain and with a block scale */
static const int format_bits64[FORMATS] = {128, 192, 256, 320, 384, 512, 144, 208, 272, 336, 400, 528};

/* Layer i of p weights: size p * bits / 8 bytes; cost its sensitivity *
 * 4^-bits with noise (a block scale lowers it a bit). Integers turned into
 * doubles and only multiplied (nothing an FMA could contract): the same
 * instance on every platform. */
static void realistic_instance(qcc_knap_choice *choices, qcc_knap_group *groups, int layers, int64_t max_params,
                               int64_t unit) {
  for (int i = 0; i < layers; i++) {
    const int64_t params = 1000 + rand_below(max_params);
    const double sensitivity = (double)(1024 + rand_below(101376)) / 1024; /* 1..100 */
    for (int j = 0; j < FORMATS; j++) {
      const int bits = format_bits64[j] / 64;
      double noise = 1;
      for (int b = 0; b < bits; b++) noise *= 0.25;
      noise *= (j >= 6 ? 0.75 : 1) * ((double)(819 + rand_below(410)) / 1024); /* 0.8..1.2 */
      const int64_t bytes = params * format_bits64[j] / 512;
      choices[i * FORMATS + j] = (qcc_knap_choice){sensitivity * noise, (bytes + unit - 1) / unit * unit, 0};
    }
    groups[i] = (qcc_knap_group){choices + i * FORMATS, FORMATS};
  }
}

static int64_t sizes_at_bits64(const qcc_knap_group *groups, int layers, int format) {
  int64_t total = 0;
  for (int i = 0; i < layers; i++) total += groups[i].choices[format].size;
  return total;
}

static uint64_t hash_pick(const int *pick, int n) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (int i = 0; i < n; i++) h = (h ^ (uint64_t)pick[i]) * 1099511628211u;
  return h;
}

static double seconds_since(clock_t start) { return (double)(clock() - start) / CLOCKS_PER_SEC; }

static void test_large(void) {
  static qcc_knap_choice choices[LAYERS * FORMATS];
  static qcc_knap_group groups[LAYERS];
  static int pick[LAYERS];
  char err[200] = "";
  rng_state = 12345;
  realistic_instance(choices, groups, LAYERS, 96000000, 1); /* sizes up to 1e8 bytes */
  /* 4.25 bits a weight on average: all at 4 bits plus an eighth of all at 2 */
  const int64_t budget = sizes_at_bits64(groups, LAYERS, 2) + sizes_at_bits64(groups, LAYERS, 0) / 8;
  qcc_knap_result r;
  clock_t start = clock();
  bool ok = qcc_knapsack_solve(groups, LAYERS, budget, -1, pick, &r, err, sizeof err);
  double secs = seconds_since(start);
  const uint64_t h = hash_pick(pick, LAYERS);
  printf("  realistic 300 x 12, budget %lld bytes: %.3f s, %lld states explored, cost %.9g, size %lld, "
         "pick hash %016llx\n",
         (long long)budget, secs, (long long)r.states, r.cost, (long long)r.size, (unsigned long long)h);
  check(ok && r.feasible && r.exact && r.size <= budget, "large: realistic instance solved exactly");
  check(secs < 1.0, "large: realistic instance in under a second");
  check(h == 0x5b2af41be3e300eaull, "large: the recorded pick (same on every platform)");

  /* a latency budget 3% under the latency of that pick (latency: size in
   * MiB plus 2 for the block-scale formats' dequantization) */
  double lat_budget = 0;
  for (int i = 0; i < LAYERS * FORMATS; i++)
    choices[i].latency = (double)choices[i].size / 1048576 + (i % FORMATS >= 6 ? 2 : 0);
  for (int i = 0; i < LAYERS; i++) lat_budget += groups[i].choices[pick[i]].latency;
  lat_budget *= 0.97;
  start = clock();
  ok = qcc_knapsack_solve(groups, LAYERS, budget, lat_budget, pick, &r, err, sizeof err);
  secs = seconds_since(start);
  printf("  realistic 300 x 12 with a latency budget: %.3f s, %lld states explored, cost %.9g, latency %.6g of %.6g\n",
         secs, (long long)r.states, r.cost, r.latency, lat_budget);
  check(ok && r.feasible && r.exact && r.size <= budget && r.latency <= lat_budget, "large: with latency budget");

  /* unrelated random sizes and costs: a much larger Pareto set */
  rng_state = 777;
  for (int i = 0; i < LAYERS * FORMATS; i++) choices[i] = (qcc_knap_choice){rand_unit(), rand_below(100000001), 0};
  start = clock();
  ok = qcc_knapsack_solve(groups, LAYERS, 50000000LL * LAYERS / 3, -1, pick, &r, err, sizeof err);
  secs = seconds_since(start);
  printf("  random 300 x 12: %.3f s, %lld states explored, cost %.9g, exact %d\n", secs, (long long)r.states,
         r.cost, r.exact);
  check(ok && r.feasible, "large: random instance solved");
}

/* A classic DP over the budget in units (sizes are multiples of unit):
 * least cost at each exact total, the same group-order sums. */
static void classic_dp(const qcc_knap_group *groups, int n, int64_t unit, int64_t units, double *best) {
  double *next = malloc(sizeof(double) * (size_t)(units + 1));
  for (int64_t u = 0; u <= units; u++) best[u] = u ? INFINITY : 0;
  for (int i = 0; i < n; i++) {
    for (int64_t u = 0; u <= units; u++) {
      next[u] = INFINITY;
      for (int j = 0; j < groups[i].n; j++) {
        const int64_t s = groups[i].choices[j].size / unit;
        if (s <= u && best[u - s] + groups[i].choices[j].cost < next[u])
          next[u] = best[u - s] + groups[i].choices[j].cost;
      }
    }
    memcpy(best, next, sizeof(double) * (size_t)(units + 1));
  }
  free(next);
}

/* Sizes in whole MiB: a classic DP over the budget in MiB is exact and
 * independent; the solver must agree at every budget tried, and its
 * frontier with the DP's running minimum. */
static void test_against_classic_dp(int layers, int budgets, bool with_frontier) {
  qcc_knap_choice *choices = malloc(sizeof(qcc_knap_choice) * (size_t)(layers * FORMATS));
  qcc_knap_group *groups = malloc(sizeof(qcc_knap_group) * (size_t)layers);
  int *pick = malloc(sizeof(int) * (size_t)layers);
  const int64_t unit = 1 << 20;
  rng_state = 4242 + (uint64_t)layers;
  realistic_instance(choices, groups, layers, 150000000, unit); /* up to ~150 units a choice */
  const int64_t least = sizes_at_bits64(groups, layers, 0) / unit, most = sizes_at_bits64(groups, layers, 11) / unit;
  double *best = malloc(sizeof(double) * (size_t)(most + 1));
  classic_dp(groups, layers, unit, most, best);
  int reported = 0;
  int64_t states = 0;
  for (int t = 0; t < budgets; t++) {
    const int64_t units = t == 0 ? least - 1 : t == 1 ? least : least + rand_below(most - least + 3);
    double want = INFINITY;
    int64_t want_size = -1;
    for (int64_t u = 0; u <= units && u <= most; u++)
      if (best[u] < want) want = best[u], want_size = u * unit;
    qcc_knap_result r;
    bool ok = qcc_knapsack_solve(groups, layers, units * unit, -1, pick, &r, NULL, 0);
    states += r.states;
    ok = ok && r.exact && r.feasible == (want_size >= 0) && (!r.feasible || (r.cost == want && r.size == want_size));
    check_quiet(ok, "classic DP: same optimum at every budget", &reported);
  }
  char what[120];
  snprintf(what, sizeof what, "%d x 12 with sizes in MiB: the classic DP's optimum at %d budgets", layers, budgets);
  printf("  %s (%lld states explored in all)\n", what, (long long)states);
  check(reported == 0, what);

  if (with_frontier) { /* where the DP's running minimum drops */
    static int64_t fsizes[1 << 16];
    static double fcosts[1 << 16];
    bool exact = false;
    const int count = qcc_knapsack_frontier(groups, layers, fsizes, fcosts, 1 << 16, &exact);
    int k = 0;
    bool same = count > 0 && count <= 1 << 16;
    double running = INFINITY;
    for (int64_t u = 0; u <= most && same; u++)
      if (best[u] < running) {
        running = best[u];
        same = k < count && fsizes[k] == u * unit && fcosts[k] == best[u];
        k++;
      }
    printf("  %d x 12 in MiB: frontier of %d points\n", layers, count);
    check(same && exact && k == count, "frontier: equals the classic DP's");
  }
  free(best), free(choices), free(groups), free(pick);
}

/* ---- frontier ----------------------------------------------------------- */

/* All picks' (size, cost), sorted; the front is where the cost drops. */
static int brute_frontier(const instance *in, int64_t *sizes, double *costs) {
  static int64_t all_sizes[78125];
  static double all_costs[78125];
  static int order[78125];
  int count = 0, idx[MAXN] = {0};
  for (;;) {
    double cost = 0;
    int64_t size = 0;
    for (int i = 0; i < in->n; i++) cost += in->choice[i][idx[i]].cost, size += in->choice[i][idx[i]].size;
    all_sizes[count] = size, all_costs[count] = cost, order[count] = count, count++;
    int i = in->n - 1;
    while (i >= 0 && ++idx[i] == in->group[i].n) idx[i--] = 0;
    if (i < 0) break;
  }
  for (int a = 1; a < count; a++) /* insertion sort by size, then cost */
    for (int b = a; b > 0; b--) {
      const int x = order[b - 1], y = order[b];
      if (all_sizes[x] < all_sizes[y] || (all_sizes[x] == all_sizes[y] && all_costs[x] <= all_costs[y])) break;
      order[b - 1] = y, order[b] = x;
    }
  int points = 0;
  for (int k = 0; k < count; k++)
    if (!points || all_costs[order[k]] < costs[points - 1])
      sizes[points] = all_sizes[order[k]], costs[points] = all_costs[order[k]], points++;
  return points;
}

static void test_frontier(int instances) {
  int reported = 0;
  for (int t = 0; t < instances; t++) {
    instance in;
    random_instance(&in);
    if (in.n > 5) in.n = 5; /* keeps the insertion sort quick */
    int64_t sizes[256], want_sizes[3200];
    double costs[256], want_costs[3200];
    bool exact = false;
    const int count = qcc_knapsack_frontier(in.group, in.n, sizes, costs, 256, &exact);
    const int want = brute_frontier(&in, want_sizes, want_costs);
    bool ok = exact && count == want && count <= 256;
    for (int i = 0; ok && i < count; i++) ok = sizes[i] == want_sizes[i] && costs[i] == want_costs[i];
    for (int i = 1; ok && i < count; i++) ok = sizes[i] > sizes[i - 1] && costs[i] < costs[i - 1];
    /* each point: the solver's optimum at its size, and not reachable with less */
    int pick[MAXN];
    for (int i = 0; ok && i < count; i++) {
      qcc_knap_result r, below;
      ok = qcc_knapsack_solve(in.group, in.n, sizes[i], -1, pick, &r, NULL, 0) && r.cost == costs[i] &&
           r.size == sizes[i] && qcc_knapsack_solve(in.group, in.n, sizes[i] - 1, -1, pick, &below, NULL, 0) &&
           (!below.feasible || below.cost > costs[i]);
    }
    check_quiet(ok, "frontier: the brute-force Pareto front", &reported);
  }
  check(reported == 0, "frontier: the brute-force front, monotone, the solver's optimum at each point");
  /* only the count, then cap 1 */
  instance in;
  random_instance(&in);
  int64_t s1;
  double c1;
  const int count = qcc_knapsack_frontier(in.group, in.n, NULL, NULL, 0, NULL);
  check(count >= 1 && qcc_knapsack_frontier(in.group, in.n, &s1, &c1, 1, NULL) == count,
        "frontier: cap 0 counts, cap 1 fills one");
}

/* ---- fallback and bad input --------------------------------------------- */

/* A cap of 4 states forces the bucket merging on most instances (the cost
 * bound keeps some below it): flagged inexact, the pick still fits, its
 * cost is never below the optimum; under the cap the result is exact. */
static void test_fallback(void) {
  enum { N = 30 };
  static qcc_knap_choice choices[N * FORMATS];
  static qcc_knap_group groups[N];
  int pick[N], exact_pick[N], reported = 0, flagged = 0, worse = 0;
  for (int t = 0; t < 20; t++) {
    rng_state = 900 + (uint64_t)t;
    for (int i = 0; i < N * FORMATS; i++)
      choices[i] = (qcc_knap_choice){rand_unit(), rand_below(100000001), (double)rand_below(100)};
    for (int i = 0; i < N; i++) groups[i] = (qcc_knap_group){choices + i * FORMATS, FORMATS};
    const int64_t budget = 50000000LL * N / 2;
    const double lat_budget = t % 2 ? -1 : 50.0 * N;
    qcc_knap_result exact, capped;
    bool ok = qcc_knapsack_solve(groups, N, budget, lat_budget, exact_pick, &exact, NULL, 0) &&
              qcc_knapsack_solve_capped(groups, N, budget, lat_budget, 4, pick, &capped, NULL, 0);
    double cost = 0, latency = 0;
    int64_t size = 0;
    for (int i = 0; ok && capped.feasible && i < N; i++) {
      cost += choices[i * FORMATS + pick[i]].cost, size += choices[i * FORMATS + pick[i]].size;
      latency += lat_budget >= 0 ? choices[i * FORMATS + pick[i]].latency : 0;
    }
    ok = ok && exact.exact && exact.feasible;
    if (ok && capped.exact) ok = capped.cost == exact.cost && !memcmp(pick, exact_pick, sizeof pick);
    else if (ok)
      ok = !capped.feasible || (cost == capped.cost && size == capped.size && size <= budget &&
                                latency == capped.latency && (lat_budget < 0 || latency <= lat_budget) &&
                                capped.cost >= exact.cost);
    flagged += !capped.exact, worse += capped.feasible && capped.cost > exact.cost;
    check_quiet(ok, "fallback: flagged, fitting, never better than the optimum", &reported);
  }
  printf("  fallback with a cap of 4 states: %d of 20 flagged inexact, %d of them worse than the optimum\n", flagged,
         worse);
  check(reported == 0 && flagged >= 10, "fallback: flagged inexact, pick fits, cost >= optimum");
}

static void test_bad_input(void) {
  char err[200];
  int pick[2] = {7, 7};
  qcc_knap_result r;
  bool ok = qcc_knapsack_solve(NULL, 0, 0, -1, NULL, &r, err, sizeof err);
  check(ok && r.feasible && r.exact && r.cost == 0 && r.size == 0, "n = 0: feasible, cost 0");
  ok = qcc_knapsack_solve(NULL, 0, -1, -1, NULL, &r, err, sizeof err);
  check(ok && !r.feasible, "n = 0 with a negative budget: infeasible");

  qcc_knap_choice c[2] = {{1, 10, 0}, {2, 5, 0}};
  qcc_knap_group g[2] = {{c, 2}, {c, 0}};
  err[0] = 0;
  ok = qcc_knapsack_solve(g, 2, 100, -1, pick, &r, err, sizeof err);
  printf("  group without choices -> \"%s\"\n", err);
  check(!ok && strstr(err, "group 1 has no choices"), "a group with 0 choices is an error with a message");
  check(qcc_knapsack_frontier(g, 2, NULL, NULL, 0, NULL) == -1, "frontier: a group with 0 choices is -1");

  g[1] = (qcc_knap_group){c, 2};
  c[1].size = -5;
  err[0] = 0;
  ok = qcc_knapsack_solve(g, 2, 100, -1, pick, &r, err, sizeof err);
  printf("  negative size -> \"%s\"\n", err);
  check(!ok && strstr(err, "negative size"), "a negative size is an error with a message");
  c[1].size = 5;
  c[1].cost = NAN;
  check(!qcc_knapsack_solve(g, 2, 100, -1, pick, &r, err, sizeof err) && strstr(err, "cost"), "a NaN cost is an error");
  c[1].cost = -1;
  check(!qcc_knapsack_solve(g, 2, 100, -1, pick, &r, err, sizeof err) && strstr(err, "cost"),
        "a negative cost is an error");
  c[1].cost = 2;
  c[1].latency = -1;
  check(!qcc_knapsack_solve(g, 2, 100, 5, pick, &r, err, sizeof err) && strstr(err, "latency"),
        "a negative latency is an error with a latency budget");
  check(qcc_knapsack_solve(g, 2, 100, -1, pick, &r, err, sizeof err) && r.feasible && r.cost == 2 && pick[0] == 0 &&
            pick[1] == 0, "... and ignored without one");
  ok = qcc_knapsack_solve(g, 2, 9, -1, pick, &r, err, sizeof err);
  check(ok && !r.feasible && pick[0] == -1 && pick[1] == -1, "infeasible: pick all -1");
  check(!qcc_knapsack_solve(g, 2, 100, -1, NULL, &r, err, sizeof err), "no pick array is an error");
  /* sizes near INT64_MAX: no overflow */
  c[0].size = INT64_MAX / 2 + 1;
  ok = qcc_knapsack_solve(g, 2, INT64_MAX, -1, pick, &r, err, sizeof err);
  check(ok && r.feasible && r.size == INT64_MAX / 2 + 1 + 5 && r.cost == 3, "huge sizes: no overflow");
  ok = qcc_knapsack_solve(g, 2, INT64_MAX / 2, -1, pick, &r, err, sizeof err);
  check(ok && r.feasible && r.size == 10 && r.cost == 4, "huge sizes: pruned");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows up under ctest and in pipes */
  clock_t start = clock();
  test_brute_force(false, 3000);
  test_brute_force(true, 3000);
  test_determinism_small(1000);
  test_frontier(1000);
  test_large();
  test_against_classic_dp(300, 12, false);
  test_against_classic_dp(40, 40, true);
  test_fallback();
  test_bad_input();
  printf("  total %.2f s\n", seconds_since(start));
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
