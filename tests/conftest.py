"""Shared test set-up: one torch thread per test worker (the suite runs under xdist on 2 cores)."""

import os

import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)
