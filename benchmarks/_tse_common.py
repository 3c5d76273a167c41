"""Helpers shared by the TSE / trainer overhead benchmarks (not part of the package)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import nasrank
from nasrank.data import ImageDataset, load_dataset

REPO = Path(__file__).resolve().parents[1]


def add_common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--arch", default="|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|")
    p.add_argument("--C", type=int, default=8)
    p.add_argument("--N", type=int, default=1)
    p.add_argument("--train-size", type=int, default=2048)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)


def load_train(args: argparse.Namespace) -> tuple[str, ImageDataset]:
    if (args.data_dir / "cifar10" / "cifar-10-batches-py" / "test_batch").exists():
        ds = load_dataset("cifar10", root=args.data_dir, size=16, max_samples=args.train_size, seed=0)
        return "cifar10@16x16", ds
    print(f"CIFAR-10 not found under {args.data_dir}; using scikit-learn digits (8x8) instead.")
    return "digits", load_dataset("digits", max_samples=args.train_size, seed=0)


def build(args: argparse.Namespace, ds: ImageDataset, seed: int = 0) -> torch.nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nasrank.create_space("nb201").build(
            args.arch, num_classes=ds.num_classes, C=args.C, N=args.N, in_channels=ds.image_shape[0]
        )
