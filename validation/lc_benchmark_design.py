"""Power analysis and design of the second learning-curve benchmark (issue 22), written before
it is built.

Question the benchmark must be able to answer: does a training-speed estimator (TSE-EMA at
T = 5-10% of the training) rank cells and steer a search better than early-stopped or final
validation accuracy (seed 000 Fig. 1, Fig. 4)? ``nb201-mini`` (200 cells, 20 epochs, 2,000 test
images, one seed) could not show that either way. This script derives what is needed from
numbers measured on ``nb201-mini`` and standard sampling formulas, and prints the design and its
cost:

1. **Test-set noise.** Each cell's final test accuracy is a binomial estimate; its variance
   ``p(1-p)/n_test`` against the spread of true accuracies over cells bounds how well *any*
   estimator can correlate with the measured target (the reliability ``R = 1 - noise / total``,
   ceiling ``~ sqrt(R)``). Measured on ``nb201-mini``'s accuracies, then evaluated for 10,000.
2. **Precision of a rank correlation.** Fisher z with the Bonett-Wright variance for Spearman,
   ``SE(z) = sqrt((1 + rho^2 / 2) / (n - 3))``, mapped back to rho: the standard error of rho for
   n cells, and the smallest difference between two estimators' rho that 2 s.e. resolve.
3. **Seeds for the search comparison.** With the per-seed spread of final regret measured on
   ``nb201-mini`` (``validation/results/tse_search_T5.txt``: s.e. about 0.18-0.21 points over 25
   seeds, i.e. s.d. about 1 point), the seeds needed to detect a given mean regret difference at
   5% two-sided with 80% power, unpaired (conservative; seeds are paired across signals).
4. **Training-speed budget.** ``T / T_end`` for the T the paper uses (5-10%): at least 40 epochs
   so that T = 2-4 epochs is early and still spans several minibatch-loss windows.
5. **Cost.** Seconds per training epoch measured in ``nb201-mini``'s build (its
   ``total_train_seconds``, 1 thread per process, 2 processes) scaled linearly in training images
   and epochs; evaluation of the validation (per epoch) and 10,000 test images (once) added at a
   third of a training step per image.

6. **Spread.** The spread of true accuracies over cells against the test-set and seed noise
   decides what a benchmark can show; a pilot measures both before the build.

Usage::

    python validation/lc_benchmark_design.py [--regret-sd 1.0]
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
from scipy.stats import norm

from nasrank.benchmarks import load_benchmark


def se_rho(rho: float, n: int) -> float:
    """Standard error of Spearman's rho at n (Fisher z, Bonett-Wright variance), delta method."""
    se_z = math.sqrt((1 + rho * rho / 2) / (n - 3))
    return (1 - rho * rho) * se_z


def seeds_needed(sd: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Runs per arm to detect a mean difference ``delta`` (two-sample, unpaired, equal sd)."""
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return math.ceil(2 * (z * sd / delta) ** 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regret-sd", type=float, default=1.0,
                    help="per-seed s.d. of final regret in points (nb201-mini: about 0.9-1.05)")
    args = ap.parse_args(argv)

    mini = load_benchmark("nb201-mini")
    meta = mini.metadata
    acc = np.asarray(mini.table("test_acc"), dtype=float)
    acc = acc[np.isfinite(acc)]
    n_test_mini = int(meta["data"]["test_size"])
    sec_per_epoch = meta["total_train_seconds"] / (meta["runs"] * meta["epochs"])
    train_mini = int(meta["data"]["train_size"])

    print("## 1. Test-set noise and the ceiling it puts on any estimator")
    var_true_plus_noise = acc.var(ddof=1)
    print(f"nb201-mini: {len(acc)} cells, test accuracy mean {100 * acc.mean():.1f}%, s.d. over cells "
          f"{100 * acc.std(ddof=1):.2f} points, range {100 * acc.min():.1f}-{100 * acc.max():.1f}%")
    print(f"{'test images':>12s} {'binomial s.e. (pts)':>20s} {'reliability R':>14s} {'ceiling sqrt(R)':>16s}")
    for n_test in (n_test_mini, 5000, 10000):
        noise = float(np.mean(acc * (1 - acc) / n_test))
        noise_mini = float(np.mean(acc * (1 - acc) / n_test_mini))
        var_true = max(var_true_plus_noise - noise_mini, 1e-12)
        r = var_true / (var_true + noise)
        print(f"{n_test:12d} {100 * math.sqrt(noise):20.2f} {r:14.3f} {math.sqrt(r):16.3f}")
    print("(a Pearson-type bound for the test-set sampling alone; training-seed noise lowers the ceiling "
          "further and is what the second seed measures)\n")

    print("## 2. Precision of a rank correlation over n cells: s.e. of rho (2 s.e. = resolvable difference)")
    rhos = (0.5, 0.7, 0.9)
    print(f"{'n cells':>8s} " + " ".join(f"{'rho=' + str(r):>10s}" for r in rhos))
    for n in (200, 500, 1000, 2000):
        print(f"{n:8d} " + " ".join(f"{se_rho(r, n):10.3f}" for r in rhos))
    print("seed 000 Fig. 1 separates TSE-EMA from early-stopped accuracy by about 0.05-0.15 in rho at small T: "
          "n = 200 resolves only the larger gaps (2 s.e. ~ 0.07 at rho 0.7); n = 1000 resolves 0.03.")
    print("noise ceiling from a second seed on m cells: s.e. of the seed-to-seed rho (about 0.9) "
          f"at m = 200: {se_rho(0.9, 200):.3f}, m = 500: {se_rho(0.9, 500):.3f}\n")

    print(f"## 3. Seeds for the search comparison (per-seed regret s.d. {args.regret_sd:.2f} points)")
    for delta in (0.25, 0.5, 1.0):
        print(f"detect a mean final-regret difference of {delta:.2f} points (5%, power 80%, unpaired): "
              f"{seeds_needed(args.regret_sd, delta)} seeds per signal")
    print("searches on a table are cheap (seconds per seed): use 100 seeds, paired by seed across signals.\n")

    print("## 4. Training-speed budget")
    for e in (20, 40, 50):
        print(f"T_end = {e:2d} epochs: T = 5% -> {0.05 * e:.1f} epochs, 10% -> {0.1 * e:.1f} epochs")
    print("nb201-mini's T = 5 of 20 is already 25% of the training; 40 epochs puts T = 2-4 at the paper's 5-10%.\n")

    print("## 5. Cost (CPU seconds at 1 thread per process, scaled from nb201-mini's build)")
    print(f"nb201-mini: {sec_per_epoch:.2f} s per epoch of {train_mini} training images at "
          f"{meta['data']['image_size']}x{meta['data']['image_size']}, C={meta['space_config']['C']}, "
          f"N={meta['space_config']['N']}, batch {meta['train_config']['batch_size']}")
    per_image = sec_per_epoch / train_mini
    print(f"{'cells':>6s} {'epochs':>6s} {'train':>6s} {'val':>5s} {'2nd seed':>8s} {'CPU-hours':>10s} "
          f"{'2-core wall h':>13s}")
    for cells, epochs, train, val, second in ((1000, 40, 3072, 1024, 200), (1000, 40, 2048, 1024, 200),
                                              (1200, 50, 3072, 1024, 240), (1000, 40, 5120, 1024, 200)):
        runs = cells + second
        train_s = runs * epochs * train * per_image
        eval_s = runs * (epochs * val + 10000) * per_image / 3
        total = train_s + eval_s
        print(f"{cells:6d} {epochs:6d} {train:6d} {val:5d} {second:8d} {total / 3600:10.1f} {total / 7200:13.1f}")
    print()
    print("## 6. Spread of true accuracies: the lever that matters most")
    print(f"nb201-mini's cells differ by only {100 * acc.std(ddof=1):.1f} points (s.d.), so its 2,000-image test "
          "set alone caps any estimator near rho 0.79 (section 1): part of why its search result could not "
          "show an effect. More training images and epochs should widen the spread (in NB201 proper, at 200 "
          "epochs on 50k images, the cells with a path span tens of points); how much at CPU scale is not "
          "known, and the training-seed noise is not known either, so the build starts with a pilot:")
    for train in (3072, 10240):
        pilot = 24 * 2 * (40 * train + (40 * 1024 + 10000) / 3) * per_image
        print(f"  pilot: 24 cells x 2 seeds x 40 epochs at {train:5d} training images: {pilot / 3600:.1f} CPU-hours")
    print("  -> pick the training size whose (spread / seed noise) is larger per CPU-hour, then build.\n")
    print("## Design")
    print("* 1,000 canonical NB201 cells drawn uniformly among cells with an input-output path (--arch-seed 1; "
          "nb201-mini stays the small default);")
    print("* 40 epochs, cosine schedule, SGD 0.1 / Nesterov / wd 5e-4, batch 128 (nb201-mini's training config);")
    print("* CIFAR-10 at 16x16 (C=8, N=1): 3,072 training images (or 10,240 if the pilot says so), 1,024 "
          "validation images from the training part, the full 10,000-image test set;")
    print("* a second training seed on the first 200 cells (the noise ceiling);")
    print("* per-epoch wall time recorded (search cost = recorded seconds on this machine, 1 thread per process).")
    print("Cost: about 27 CPU-hours (13-14 h on the 2-core machine, several sessions in the background with "
          "the resumable builder), or well under an hour on a GPU. Compromise against NB201: 16x16 images, a "
          "3k-image training set and an 8-channel, 1-cell network (accuracies ~40-55% instead of 85-94%), "
          "kept because the claims under test are about rankings and search efficiency, not accuracy.")
    print()
    print("## After the pilot (validation/results/lc_benchmark_pilot_3072.txt, _10240.txt; 24 cells x 2 seeds each)")
    print("                    3,072 images   10,240 images")
    print("  mean test acc          51.4%          64.0%")
    print("  spread (s.d.)          2.48 pts       3.41 pts")
    print("  seed noise (s.d.)      0.94 pts       0.55 pts")
    print("  reliability R          0.865          0.975")
    print("  seed-to-seed rho       0.741          0.865   (measured on 24 cells: wide intervals)")
    print("  TSE / val acc, T=2     .51 / .30      .66 / .39")
    print("  CPU-s per run          20             75      -> build 6.7 vs 24.9 CPU-hours of training")
    print("Decision: 10,240 training images. The rule written above (spread / seed noise per CPU-hour) would pick")
    print("  3,072 (2.64 / 6.7 h = 0.39 vs 6.2 / 24.9 h = 0.25), but a per-hour ratio rewards the cheapest size")
    print("  whenever the gain is less than proportional to the cost, and says nothing about whether the cheap")
    print("  benchmark can answer the question. At 3,072 images the seed-to-seed rho (.74) sits where the")
    print("  estimators already are (TSE .72 at T=4), so the noise ceiling would cap every comparison; at 10,240")
    print("  the ceiling (.87) leaves room above TSE at small T. The runs also cost less per epoch than the 27")
    print("  CPU-hours above assumed (0.5 s vs nb201-mini's recorded 1.75 s per epoch of 3,072 images; that build")
    print("  ran beside other work, and its cost model finds 10% of its runs slowed by more than 1.5x, which")
    print("  explains only part of the gap), so the larger training set costs about what the design budgeted.")
    print("Shipped size (measured by writing the 48 pilot runs at 10,240 images and scaling to 1,200 runs): the")
    print("  minibatch losses (1,200 runs x 40 epochs x 80 minibatches) dominate: curves.npz would be 14.1 MB with")
    print("  them in float32, 6.8 MB in float16, 1.0 MB without them. TLmini needs them all (seed 000 averages its")
    print("  rank correlation over the minibatches of an epoch), and float16 changes no ranking that matters (rank")
    print("  agreement of TLmini with the float32 values .9999), so the benchmark ships them in float16")
    print("  (--minibatch-dtype float16: an export choice; the store keeps float64, switching retrains nothing).")
    print("  6.8 MB is above the 'few MB' the issue budgets; the alternative within it drops TLmini from Fig. 1.")
    print("Build (resumable; re-run the same command to continue):")
    print("  nasrank bench build --out benchmarks/_cache/nb201-lc1000 --name nb201-lc1000 --space nb201 --C 8 --N 1 "
          "--dataset cifar10 --data-dir ../shared/data --image-size 16 --train-size 10240 --val-size 1024 "
          "--archs 1000 --arch-seed 1 --epochs 40 --batch-size 128 --seeds 0,1:200 "
          "--store benchmarks/_cache/nb201-lc1000.sqlite --executor processes --workers 2 --threads 1 "
          "--minibatch-dtype float16")
    print("  (--seeds 0,1:200: seed 1 on the first 200 cells of the draw only, the noise ceiling that "
          "`nasrank correlate` draws)")
    print("Across sessions and machines: validation/lc_benchmark_build.py does all of this (imports the committed")
    print("  parts, runs the build, exports the new runs as the next part). By hand, at the end of each sitting")
    print("  commit what it added as plain data,")
    print("  nasrank store export benchmarks/_cache/nb201-lc1000.sqlite benchmarks/results/nb201-lc1000-records/"
          "part-NN.jsonl.gz --skip <every earlier part>")
    print("  and on a fresh machine first: nasrank store import benchmarks/_cache/nb201-lc1000.sqlite "
          "benchmarks/results/nb201-lc1000-records/*.jsonl.gz (the build then retrains nothing it has)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
