"""mannwhitney.py - the two-sided Mann-Whitney U test that `make
bench-compare` uses to say whether two runs' repetitions differ. Standard
library only; it is not a general statistics package.

Why this test: benchmark repetitions are few and not normal (a noisy
neighbour gives one slow outlier), so a rank test, which assumes nothing
about the shape, fits better than a t-test. It is also what benchstat uses.

How: with few repetitions (at most EXACT_MAX ways to split the pooled
values into the two groups) the p-value is exact: every split is
enumerated, so ties need no correction. Beyond that, the normal
approximation with the tie correction of the variance and a continuity
correction."""

import itertools
import math

EXACT_MAX = 20000  # C(16, 8) = 12870: exact up to 8 + 8 repetitions


def ranks(values):
    """1-based ranks of values; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1
        i = j + 1
    return r


def u_statistic(a, b):
    """U of sample a: how many (x in a, y in b) pairs have x > y, ties 1/2."""
    r = ranks(list(a) + list(b))
    return sum(r[:len(a)]) - len(a) * (len(a) + 1) / 2.0


def min_p(n1, n2):
    """The smallest two-sided p-value any data can give at these sizes:
    when it is above alpha, no difference can ever be called significant."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def p_value(a, b):
    """Two-sided p-value of the hypothesis that a and b come from the same
    distribution."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return 1.0
    mean = n1 * n2 / 2.0
    dev = abs(u_statistic(a, b) - mean)
    if math.comb(n1 + n2, n1) <= EXACT_MAX:
        return exact_p(list(a) + list(b), n1, mean, dev)
    return normal_p(list(a) + list(b), n1, n2, dev)


def exact_p(pooled, n1, mean, dev):
    """Share of all splits of pooled into n1 + rest whose U lies at least as
    far from its mean as the observed one (a permutation test on U)."""
    r = ranks(pooled)
    base = n1 * (n1 + 1) / 2.0
    hits = total = 0
    for idx in itertools.combinations(range(len(pooled)), n1):
        u = sum(r[i] for i in idx) - base
        total += 1
        if abs(u - mean) >= dev - 1e-9:  # ranks are halves: a tolerance, not a loss
            hits += 1
    return hits / total


def normal_p(pooled, n1, n2, dev):
    n = n1 + n2
    counts = {}
    for v in pooled:
        counts[v] = counts.get(v, 0) + 1
    ties = sum(t ** 3 - t for t in counts.values())
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0  # every value equal: nothing tells the samples apart
    z = max(0.0, dev - 0.5) / math.sqrt(var)
    return math.erfc(z / math.sqrt(2))
