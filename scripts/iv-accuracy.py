#!/usr/bin/env python3
"""How exact are optionsflow's implied volatilities? (docs/targets.md)

Draws a broad random set of European options, prices each exactly with mpmath (40 digits),
rounds the price to a double as any real price is, and finds the exact implied volatility
of that double price, again with mpmath. Then runs `optionsflow-worker greeks` on the same
double inputs and counts the cases whose implied volatility is within 4x the error that a
single rounding of the price already induces (half an ulp of the price, divided by vega;
plus half an ulp of the volatility, since the answer is a double as well): the best any
double-precision solver can promise.

By default the rate and the dividend yield are zero, so the inputs are exactly Black's
(forward = spot, no discounting) and the check measures the solver, as the target in
docs/targets.md does. `--with-rates` measures the whole BSM path, where the forward and the discount factor
must be formed without adding errors of their own.

    scripts/iv-accuracy.py --worker target/release/optionsflow-worker --cases 20000

It also checks the floor: for in-the-money options it takes the double just below and the
double just above the exact European floor D*(F - K) (or D*(K - F)). The one below has no
volatility in exact arithmetic, so it must come back `below_intrinsic`; the one above must
not (`--floor-cases`, with rates).

Exits non-zero if the share of cases within the bound is below --min-share, or if any price
below the exact floor gets a volatility.
"""

import argparse
import csv
import io
import math
import random
import subprocess
import sys

import mpmath as mp

mp.mp.dps = 40


def price(s, k, t, r, q, sigma, call):
    """Exact BSM price with a continuous dividend yield."""
    s, k, t, r, q, sigma = (mp.mpf(x) for x in (s, k, t, r, q, sigma))
    sd = sigma * mp.sqrt(t)
    d1 = (mp.log(s / k) + (r - q + sigma * sigma / 2) * t) / sd
    d2 = d1 - sd
    if call:
        return s * mp.exp(-q * t) * mp.ncdf(d1) - k * mp.exp(-r * t) * mp.ncdf(d2)
    return k * mp.exp(-r * t) * mp.ncdf(-d2) - s * mp.exp(-q * t) * mp.ncdf(-d1)


def vega(s, k, t, r, q, sigma):
    s, k, t, r, q, sigma = (mp.mpf(x) for x in (s, k, t, r, q, sigma))
    sd = sigma * mp.sqrt(t)
    d1 = (mp.log(s / k) + (r - q + sigma * sigma / 2) * t) / sd
    return s * mp.exp(-q * t) * mp.npdf(d1) * mp.sqrt(t)


def exact_iv(s, k, t, r, q, target, call):
    """Bisection in log-volatility: slow, certain, and exact to 40 digits."""
    target = mp.mpf(target)
    lo, hi = mp.log(mp.mpf("1e-6")), mp.log(mp.mpf(50))
    for _ in range(200):
        mid = (lo + hi) / 2
        if price(s, k, t, r, q, mp.exp(mid), call) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < mp.mpf("1e-30"):
            break
    return mp.exp((lo + hi) / 2)


def cases(n, seed, with_rates):
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        s = 100.0
        k = s * math.exp(rng.uniform(-1.0, 1.0))
        t = math.exp(rng.uniform(math.log(1 / 365), math.log(5.0)))
        r = rng.uniform(-0.01, 0.08) if with_rates else 0.0
        q = rng.uniform(0.0, 0.05) if with_rates else 0.0
        sigma = rng.uniform(0.05, 1.5)
        call = rng.random() < 0.5
        p = float(price(s, k, t, r, q, sigma, call))
        # Keep prices that carry information about volatility in a double: above the
        # European floor by more than rounding, below the cap.
        floor = max(
            (s * math.exp(-q * t) - k * math.exp(-r * t)) * (1 if call else -1), 0.0
        )
        cap = s * math.exp(-q * t) if call else k * math.exp(-r * t)
        if p <= floor * (1 + 1e-12) or p >= cap * (1 - 1e-12) or p < 1e-200:
            continue
        out.append((s, k, t, r, q, call, p))
    return out


def floor_cases(n, seed):
    """In-the-money options and the doubles either side of their exact European floor."""
    rng = random.Random(seed + 1)
    out = []
    while len(out) < 2 * n:
        s = 100.0
        call = rng.random() < 0.5
        k = s * math.exp(rng.uniform(-0.5, -0.01) if call else rng.uniform(0.01, 0.5))
        t = math.exp(rng.uniform(math.log(1 / 365), math.log(2.0)))
        r = rng.uniform(0.0, 0.08)
        q = rng.uniform(0.0, 0.05)
        ms, mk, mt, mr, mq = (mp.mpf(x) for x in (s, k, t, r, q))
        floor = (ms * mp.exp(-mq * mt) - mk * mp.exp(-mr * mt)) * (1 if call else -1)
        if floor <= 0:
            continue
        near = float(floor)
        below = near if mp.mpf(near) < floor else math.nextafter(near, 0.0)
        above = near if mp.mpf(near) > floor else math.nextafter(near, math.inf)
        out.append((s, k, t, r, q, call, below, True))
        out.append((s, k, t, r, q, call, above, False))
    return out


def run_worker(worker, drawn):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["spot", "strike", "years", "rate", "dividend_yield", "right", "price"])
    for s, k, t, r, q, call, p, *_ in drawn:
        writer.writerow([repr(s), repr(k), repr(t), repr(r), repr(q), "call" if call else "put", repr(p)])
    result = subprocess.run(
        [worker, "greeks"], input=text.getvalue(), capture_output=True, text=True, check=True
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(drawn), (len(rows), len(drawn))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", required=True, help="the optionsflow-worker binary")
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--min-share", type=float, default=0.995)
    parser.add_argument(
        "--floor-cases",
        type=int,
        default=0,
        help="in-the-money options priced one double either side of the exact European floor",
    )
    parser.add_argument(
        "--with-rates",
        action="store_true",
        help="draw non-zero rates and dividend yields, so the forward and the discount factor"
        " must be formed without rounding errors larger than the price's own",
    )
    args = parser.parse_args()

    drawn = cases(args.cases, args.seed, args.with_rates)
    rows = run_worker(args.worker, drawn)

    within, missing, worst = 0, 0, 0.0
    for (s, k, t, r, q, call, p), row in zip(drawn, rows):
        if row["status"] != "ok":
            missing += 1
            continue
        exact = exact_iv(s, k, t, r, q, p, call)
        # The volatility error of half an ulp of price, plus half an ulp of the volatility
        # itself: the answer is a double too.
        induced = mp.mpf(math.ulp(p) / 2) / vega(s, k, t, r, q, exact) + math.ulp(
            float(exact)
        ) / 2
        error = abs(mp.mpf(row["iv"]) - exact)
        ratio = float(error / induced) if induced > 0 else math.inf
        worst = max(worst, ratio)
        if ratio <= 4:
            within += 1
    share = within / len(drawn)
    print(
        f"{len(drawn)} cases: {within} ({share:.2%}) within 4x the price-rounding error, "
        f"{missing} without an IV; worst {worst:.1f}x"
    )
    failed = share < args.min_share
    if args.floor_cases:
        floors = floor_cases(args.floor_cases, args.seed)
        wrong_below, wrong_above = 0, 0
        for (*_, below), row in zip(floors, run_worker(args.worker, floors)):
            if below and row["status"] != "below_intrinsic":
                wrong_below += 1
            if not below and row["status"] == "below_intrinsic":
                wrong_above += 1
        print(
            f"{len(floors)} prices one double from the exact floor: {wrong_below} below it with a"
            f" volatility, {wrong_above} above it called below_intrinsic"
        )
        failed = failed or wrong_below > 0 or wrong_above > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
